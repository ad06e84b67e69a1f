"""feedback kind and open petitions

Survey comments become feedback items (kind "comment" or "petition"); petitions still open
are counted apart (petitions_open*) so that their aging is computed when a score is read.
Existing survey rows keep kind "petition" (they were handled as petitions). The counters are
filled by the rebuild that the changed profile fingerprint triggers at the next start (or by
`hailong scores recompute`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COUNTERS = ("petitions_open", "petitions_open_in_authority")
COUNTER_TABLES = ("agency_day_counter", "staff_day_counter")


def upgrade() -> None:
    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="petition")
        )
    op.create_index(
        "ix_petition_open",
        "petition",
        ["agency_id", "received_day"],
        unique=False,
        postgresql_where=sa.text("handled_at IS NULL"),
        sqlite_where=sa.text("handled_at IS NULL"),
    )
    for table in COUNTER_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in NEW_COUNTERS:
                batch_op.add_column(
                    sa.Column(name, sa.Integer(), nullable=False, server_default="0")
                )


def downgrade() -> None:
    for table in COUNTER_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in NEW_COUNTERS:
                batch_op.drop_column(name)
    op.drop_index("ix_petition_open", table_name="petition")
    with op.batch_alter_table("petition", schema=None) as batch_op:
        batch_op.drop_column("kind")
