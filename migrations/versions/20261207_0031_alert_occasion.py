"""an alert's occasion: a petition's extended deadline is warned of again

A petition's deadline alert was raised once per petition and period: when the national
system extended the deadline within the quarter, nobody was told again before the new one.
`alert.occasion` (a petition's deadline, "" for the other rules) joins the unique key.
Deadline alerts raised before take the deadline they were raised for, so that evaluating
the rules again does not raise them a second time.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KEY = ["agency_id", "rule", "subject", "period"]


def upgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("occasion", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.drop_constraint(op.f("uq_alert_agency_id_rule_subject_period"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_alert_agency_id_rule_subject_period_occasion"), [*OLD_KEY, "occasion"]
        )
    alert = sa.table(
        "alert",
        sa.column("id", sa.Integer),
        sa.column("rule", sa.String),
        sa.column("values", sa.JSON),
        sa.column("occasion", sa.String),
    )
    bind = op.get_bind()
    raised = bind.execute(
        sa.select(alert.c.id, alert.c["values"]).where(alert.c.rule == "petition_deadline")
    ).all()
    for row in raised:
        deadline = (row[1] or {}).get("deadline_at") or ""
        bind.execute(alert.update().where(alert.c.id == row[0]).values(occasion=deadline[:32]))


def downgrade() -> None:
    # Of one petition's alerts for several deadlines in a period, the first stays.
    first = "SELECT MIN(id) FROM alert GROUP BY agency_id, rule, subject, period"
    op.execute(f"DELETE FROM alert_email WHERE alert_id NOT IN ({first})")
    op.execute(f"DELETE FROM alert WHERE id NOT IN ({first})")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("uq_alert_agency_id_rule_subject_period_occasion"), type_="unique"
        )
        batch_op.create_unique_constraint(op.f("uq_alert_agency_id_rule_subject_period"), OLD_KEY)
        batch_op.drop_column("occasion")
