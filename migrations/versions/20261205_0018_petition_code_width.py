"""petition.code and alert.subject hold a survey comment's code: 'HL-' + a 64-character dossier code

A comment left on a survey is filed as petition 'HL-<dossier code>'. Dossier codes may be
64 characters, the petition's code column was 64 too: on PostgreSQL a comment on such a
dossier failed its INSERT, and the citizen's whole answer with it (SQLite ignores the
width). An alert about a petition names its code as the subject.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [("petition", "code"), ("alert", "subject")]
BEFORE, AFTER = 64, 67  # 67 = len("HL-") + 64 (service/models/petition.py)


def _resize(width_from: int, width_to: int) -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                existing_type=sa.String(length=width_from),
                type_=sa.String(length=width_to),
                existing_nullable=False,
            )


def upgrade() -> None:
    _resize(BEFORE, AFTER)


def downgrade() -> None:
    _resize(AFTER, BEFORE)
