"""an event waiting for its fan-out keeps its agency's place in the tree across a move

The fan-out matched subscriptions against the agency's path as it stood when the worker
reached the event: a ward moved between its handover and the worker's round (a backlog,
`hailong worker` stopped during a merger) had its earlier events sent to the new parent's
portal, and the old one never heard of them. A move now writes the place of the time on
its agencies' waiting events (`outbox_event.agency_ancestry`: the ids of the agency and
its ancestors then), which the fan-out matches subscriptions' agencies against.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agency_ancestry", sa.String(length=1024), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN on SQLite too (3.35+): a batch copy of the table would drop
    # it, which its deliveries' foreign keys refuse.
    op.drop_column("outbox_event", "agency_ancestry")
