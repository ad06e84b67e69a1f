"""keys with a lifecycle: last use, expiry, who revoked

API keys record when they were last used (to about a minute), an optional expiry after
which they are refused, and who revoked them. Existing keys never expire and have no
recorded use; a key revoked before this revision has no recorded revoker.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_by", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_column("revoked_by")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("last_used_at")
