"""staff alerts follow the officers' codes migration 0021 rewrote

A `staff_c_falling` alert names its officer by code (its subject). Migration 0021 rewrote
codes stored with spaces around them or invisible characters ("CB013 " became "CB013")
but left the alerts' subjects as they were: the alert named no officer, and the same fall
in the same period could be raised again under the new code, a second e-mail to the
managers, since an alert is raised once per agency, rule, subject and period (review).
Each such subject now names the officer as 0021 left them, where no alert of that subject
exists for the period already.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 02:40:00
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INVISIBLE = ("Cf", "Zl", "Zp")  # as migration 0021's
STAFF_RULE = "staff_c_falling"


def as_matched(code: str) -> str | None:
    """Migration 0021's rule: the code as a handover names it now, or None."""
    cleaned = "".join(c for c in code if unicodedata.category(c) not in INVISIBLE).strip()
    if not cleaned or any(c.isspace() and c != " " for c in cleaned):
        return None
    return cleaned


def upgrade() -> None:
    bind = op.get_bind()
    staff = sa.table("staff", sa.column("agency_id", sa.Integer), sa.column("code"))
    alert = sa.table(
        "alert",
        sa.column("id", sa.Integer),
        sa.column("agency_id", sa.Integer),
        sa.column("rule"),
        sa.column("subject"),
        sa.column("period"),
    )
    codes = {(a, c) for a, c in bind.execute(sa.select(staff.c.agency_id, staff.c.code))}
    rows = bind.execute(
        sa.select(alert.c.id, alert.c.agency_id, alert.c.subject, alert.c.period)
        .where(alert.c.rule == STAFF_RULE)
        .order_by(alert.c.id)
    ).all()
    taken = {(agency_id, subject, period) for _, agency_id, subject, period in rows}
    for alert_id, agency_id, subject, period in rows:
        matched = as_matched(subject)
        if (
            matched is None
            or matched == subject
            or (agency_id, subject) in codes  # the officer still has this code
            or (agency_id, matched) not in codes
            or (agency_id, matched, period) in taken
        ):
            continue
        bind.execute(sa.update(alert).where(alert.c.id == alert_id).values(subject=matched))
        taken.add((agency_id, matched, period))


def downgrade() -> None:
    """Nothing to put back: the subjects name the same officers."""
