"""the rank each agency's score.updated last announced

A score carries its rank among its siblings, but a change marks only its own agency and
period changed (score_dirty): a sibling whose rank it moved got no score.updated, and its
subscribers kept the old rank while the API answered the new one (audit). The fan-out now
ranks the marked agencies' siblings and announces those whose rank is not the one it last
announced, kept here. Empty at first: a sibling is announced once the first time its
family is ranked with it holding a rank, since what was announced before is not known.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "score_rank_announced",
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_score_rank_announced_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("agency_id", "period", name=op.f("pk_score_rank_announced")),
    )


def downgrade() -> None:
    op.drop_table("score_rank_announced")
