"""TT 01/2018 beside the K score: its question, its counters, its entered indicators

The answer to "agencies contacted" (indicator 4), the day counters of its points, and the
indicators the competent authority enters per agency and period (5, 6, 9).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = (
    "tt_time_points",
    "tt_returns_points",
    "tt_contacts_answered",
    "tt_contacts_points",
    "tt_attitude_points",
)


def upgrade() -> None:
    with op.batch_alter_table("response") as batch:
        batch.add_column(sa.Column("agencies_contacted", sa.String(length=32), nullable=True))
    for table in ("agency_day_counter", "staff_day_counter"):
        with op.batch_alter_table(table) as batch:
            for name in COUNTERS:
                batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("period_input") as batch:
        batch.add_column(sa.Column("indicators", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("indicators_set_by", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("indicators_set_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("period_input") as batch:
        batch.drop_column("indicators_set_at")
        batch.drop_column("indicators_set_by")
        batch.drop_column("indicators")
    for table in ("agency_day_counter", "staff_day_counter"):
        with op.batch_alter_table(table) as batch:
            for name in reversed(COUNTERS):
                batch.drop_column(name)
    with op.batch_alter_table("response") as batch:
        batch.drop_column("agencies_contacted")
