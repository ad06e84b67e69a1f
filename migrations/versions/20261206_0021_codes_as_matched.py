"""staff and counter codes stored with spaces around them or invisible characters are kept
as a handover now names them

From revision 0021's code on, a code is matched without the spaces around it and a code
with an invisible character (a zero-width space, a BOM, a bidi control) is refused
(service/text_clean.py, code_text): "CB003 " stored from an upstream that always sent the
space would have become a second officer "CB003" at the upgrade, the officer's history
left under the old row. Each such code is rewritten as it is now matched, where its
agency has no code of that text already (then both rows stay: merging two officers'
history is a person's decision).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 00:50:00
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INVISIBLE = ("Cf", "Zl", "Zp")  # service/text_clean.py, as of this revision


def as_matched(code: str) -> str | None:
    """The code as a handover names it now, or None where none could (blank, or another
    space than ' ' inside)."""
    cleaned = "".join(c for c in code if unicodedata.category(c) not in INVISIBLE).strip()
    if not cleaned or any(c.isspace() and c != " " for c in cleaned):
        return None
    return cleaned


def _rewrite(bind: sa.engine.Connection, name: str) -> None:
    table = sa.table(
        name, sa.column("id", sa.Integer), sa.column("agency_id", sa.Integer), sa.column("code")
    )
    rows = bind.execute(sa.select(table.c.id, table.c.agency_id, table.c.code)).all()
    taken = {(agency_id, code) for _, agency_id, code in rows}
    for row_id, agency_id, code in rows:
        matched = as_matched(code)
        if matched is None or matched == code or (agency_id, matched) in taken:
            continue
        bind.execute(sa.update(table).where(table.c.id == row_id).values(code=matched))
        taken.add((agency_id, matched))


def upgrade() -> None:
    bind = op.get_bind()
    for name in ("staff", "counter"):
        _rewrite(bind, name)


def downgrade() -> None:
    """Nothing to put back: the codes as they are matched are the same officers and
    counters."""
