"""response.write_xact: the transaction that stored each answer, for the evaluations' pages

On PostgreSQL an answer given first (the lower id) may commit after one given later; a
reader paging GET /api/v1/evaluations by id went on past the first and never saw it
(audit). Pages are read in (write_xact, id) order and hold back what an open transaction may
precede (service/models/write_order.py). The database fills the column: on PostgreSQL the
writing transaction's id, on SQLite (one writer at a time, ids in commit order) 0. Answers
stored before keep 0: they come first, in id order, as they did.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRES_DEFAULT = "(pg_current_xact_id()::text::bigint)"


def upgrade() -> None:
    with op.batch_alter_table("response") as batch:
        batch.add_column(
            sa.Column("write_xact", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.create_index("ix_response_write_xact_id", ["write_xact", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("response", "write_xact", server_default=sa.text(POSTGRES_DEFAULT))


def downgrade() -> None:
    with op.batch_alter_table("response") as batch:
        batch.drop_index("ix_response_write_xact_id")
        batch.drop_column("write_xact")
