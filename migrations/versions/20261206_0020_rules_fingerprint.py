"""scoring_state.rules_fingerprint: the whole profile the service last started with

The counters' fingerprint leaves out the rules read only when a score is read (group 5's
points and rates, how open petitions count, TT 01's classes): a profile changed in those
moved every score with no `score.updated` and no `profile.change` in the audit log. The
start compares this second fingerprint too. Empty until the first start after this
upgrade, which records the profile it starts with (it cannot know the one before).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scoring_state") as batch:
        batch.add_column(sa.Column("rules_fingerprint", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scoring_state") as batch:
        batch.drop_column("rules_fingerprint")
