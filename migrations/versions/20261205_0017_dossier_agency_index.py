"""drop ix_dossier_agency_id: the unique (agency_id, code) index serves its lookups

A lookup by agency and code (an invitation finding its dossier, a batch asking which of
its dossiers exist) could use either index; while the table's statistics were those of a
young table the two tied, PostgreSQL picked the one on agency_id alone, and every lookup
read all of the agency's dossiers (bench/handover.py's first round ran at half speed). The
unique index starts with agency_id, so lookups by agency alone lose nothing, and every new
dossier has one index fewer to write.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 01:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_dossier_agency_id", table_name="dossier")


def downgrade() -> None:
    op.create_index("ix_dossier_agency_id", "dossier", ["agency_id"])
