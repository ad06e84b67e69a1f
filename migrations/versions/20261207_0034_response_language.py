"""the language an answer was given in

A citizen may switch the survey to English (or back) before answering; the complaint was
then marked with the invitation's language in the console (its lang attribute, which a
screen reader follows). `response.language` keeps the page's; answers stored before have
none (the invitation's is shown, as before).

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 23:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_column("language")
