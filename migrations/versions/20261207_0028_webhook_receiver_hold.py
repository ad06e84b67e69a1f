"""a webhook receiver that answered Retry-After is sent nothing until then

A 429 or 503 with Retry-After held back only the one delivery it answered: the same
receiver was sent every other agency's waiting event at once, each refused again.
`webhook_subscription.held_until` holds every subscription of that receiver (its owner
key and URL origin) until the time asked.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN on SQLite too (3.35+): a batch copy of the table would drop
    # it, which its deliveries' foreign keys refuse.
    op.drop_column("webhook_subscription", "held_until")
