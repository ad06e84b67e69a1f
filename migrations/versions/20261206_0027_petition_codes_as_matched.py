"""petition codes stored with spaces around them or invisible characters are kept as a
petition is now named, and their deadline alerts follow

From revision 0027's code on, a petition's code is matched as agency, staff and counter
codes are (service/text_clean.py, code_text): without the spaces around it, and refused
with an invisible character. "PAKN-7 " stored from a connector that always sent the space
would have become a second petition "PAKN-7" at its next update, counted twice in group 5.
Each such code is rewritten as it is now matched, where its agency has no petition of
that code already (then both stay: merging two petitions is a person's decision), and a
`petition_deadline` alert naming it follows it, where no alert of the new subject exists
for its period (an alert is raised once per agency, rule, subject and period: left, the
same deadline would be raised again, a second e-mail to the managers).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 21:00:00
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INVISIBLE = ("Cf", "Zl", "Zp")  # service/text_clean.py, as of this revision
PETITION_RULE = "petition_deadline"


def as_matched(code: str) -> str | None:
    """The code as a petition is named now, or None where none could (blank, or another
    space than ' ' inside)."""
    cleaned = "".join(c for c in code if unicodedata.category(c) not in INVISIBLE).strip()
    if not cleaned or any(c.isspace() and c != " " for c in cleaned):
        return None
    return cleaned


def upgrade() -> None:
    bind = op.get_bind()
    petition = sa.table(
        "petition", sa.column("id", sa.Integer), sa.column("agency_id", sa.Integer), sa.column("code")
    )
    alert = sa.table(
        "alert",
        sa.column("id", sa.Integer),
        sa.column("agency_id", sa.Integer),
        sa.column("rule"),
        sa.column("subject"),
        sa.column("period"),
    )
    rows = bind.execute(sa.select(petition.c.id, petition.c.agency_id, petition.c.code)).all()
    taken = {(agency_id, code) for _, agency_id, code in rows}
    renamed: dict[tuple[int, str], str] = {}
    for row_id, agency_id, code in rows:
        matched = as_matched(code)
        if matched is None or matched == code or (agency_id, matched) in taken:
            continue
        bind.execute(sa.update(petition).where(petition.c.id == row_id).values(code=matched))
        taken.add((agency_id, matched))
        renamed[(agency_id, code)] = matched
    if not renamed:
        return
    alerts = bind.execute(
        sa.select(alert.c.id, alert.c.agency_id, alert.c.subject, alert.c.period)
        .where(alert.c.rule == PETITION_RULE)
        .order_by(alert.c.id)
    ).all()
    raised = {(agency_id, subject, period) for _, agency_id, subject, period in alerts}
    for alert_id, agency_id, subject, period in alerts:
        new = renamed.get((agency_id, subject))
        if new is None or (agency_id, new, period) in raised:
            continue
        bind.execute(sa.update(alert).where(alert.c.id == alert_id).values(subject=new))
        raised.add((agency_id, new, period))


def downgrade() -> None:
    """Nothing to put back: the codes as they are matched are the same petitions."""
