"""index petition.response_id: the petition a response opened, found without a scan

The thank-you page and a replayed answer look up the petition of a response; without an
index each lookup read the whole petition table.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 17:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_petition_response_id", "petition", ["response_id"])


def downgrade() -> None:
    op.drop_index("ix_petition_response_id", table_name="petition")
