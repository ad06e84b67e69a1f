"""alerts: per-agency rule overrides, the alerts raised, the managers' e-mails

An alert is raised at most once per agency, rule, subject (staff or petition code, "" for
the agency) and period: the unique constraint on `alert` is what guarantees it. Its
e-mails to managers are sent by the worker outside any transaction, and retried.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 14:29:01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULE_KNOWN = (
    "rule IN ('k_below_threshold', 'staff_c_falling', 'petition_deadline', 'response_rate_low')"
)


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("email_reason", sa.String(length=64), nullable=True),
        sa.CheckConstraint(RULE_KNOWN, name=op.f("ck_alert_rule_known")),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_alert_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint(
            "agency_id",
            "rule",
            "subject",
            "period",
            name=op.f("uq_alert_agency_id_rule_subject_period"),
        ),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "alert_rule_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.CheckConstraint(RULE_KNOWN, name=op.f("ck_alert_rule_override_rule_known")),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_alert_rule_override_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rule_override")),
        sa.UniqueConstraint(
            "agency_id", "rule", name=op.f("uq_alert_rule_override_agency_id_rule")
        ),
    )
    op.create_table(
        "alert_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'skipped')",
            name=op.f("ck_alert_email_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_email_alert_id_alert")
        ),
        sa.ForeignKeyConstraint(
            ["official_id"], ["official.id"], name=op.f("fk_alert_email_official_id_official")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_email")),
        sa.UniqueConstraint(
            "alert_id", "official_id", name=op.f("uq_alert_email_alert_id_official_id")
        ),
    )
    with op.batch_alter_table("alert_email", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_email_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index("ix_alert_email_due", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_email", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_email_due")
        batch_op.drop_index(batch_op.f("ix_alert_email_alert_id"))
    op.drop_table("alert_email")
    op.drop_table("alert_rule_override")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_agency_id"))
    op.drop_table("alert")
