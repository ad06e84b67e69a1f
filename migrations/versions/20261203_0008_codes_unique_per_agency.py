"""codes unique per agency, and who entered D and E

Dossier and petition codes become unique per agency ((agency_id, code)) instead of
everywhere: a scoped key posting a code another agency uses later neither blocks nor takes
over that agency's dossier or petition. Period inputs record who entered D and who entered
E, and when; existing rows get the row's last change for the values they hold.

A downgrade restores the single-column unique constraints; it fails if two agencies have
meanwhile stored the same code.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODE_TABLES = ("dossier", "petition")


def upgrade() -> None:
    for table in CODE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_code", type_="unique")
            batch_op.create_unique_constraint(
                batch_op.f(f"uq_{table}_agency_id_code"), ["agency_id", "code"]
            )
    with op.batch_alter_table("period_input", schema=None) as batch_op:
        batch_op.add_column(sa.Column("d_set_by", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("d_set_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("e_set_by", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("e_set_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE period_input SET d_set_by = set_by, d_set_at = set_at WHERE d IS NOT NULL")
    op.execute("UPDATE period_input SET e_set_by = set_by, e_set_at = set_at WHERE e IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("period_input", schema=None) as batch_op:
        batch_op.drop_column("e_set_at")
        batch_op.drop_column("e_set_by")
        batch_op.drop_column("d_set_at")
        batch_op.drop_column("d_set_by")
    for table in reversed(CODE_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_agency_id_code", type_="unique")
            batch_op.create_unique_constraint(batch_op.f(f"uq_{table}_code"), ["code"])
