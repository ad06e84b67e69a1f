"""period inputs entered by an official name them, not their mailbox

Every Score tells who entered its D and E (`inputs.*.set_by`), and it went to the agency's
reader keys and portals as "official:<id>:<e-mail>": a province official's address handed
to a ward's portal, which the officials API does not show that official to. Values are
now signed "official:<id>:<name>" (auth/principal.Principal.signature), and so is a
petition's reply (the console shows who replied); this rewrites the ones already written.
The audit log keeps the address, as recorded.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR_MAX = 255  # service/models/base.py at this revision
# The columns signed with Principal.signature: a period's inputs, a petition's reply.
SIGNED_COLUMNS = {
    "period_input": ("set_by", "d_set_by", "e_set_by", "indicators_set_by"),
    "petition": ("replied_by",),
}


def signed_name(official_id: int, name: str) -> str:
    """Principal.signature's rule at this revision: one added without a name has their
    mailbox as name, which is not shown."""
    return name if name.strip() and "@" not in name else f"Cán bộ #{official_id}"


def _rewrite(old_of: str, new_of: str) -> None:
    bind = op.get_bind()
    officials = bind.execute(sa.text("SELECT id, email, name FROM official")).all()
    tables = [
        (sa.table(table, *(sa.column(name) for name in columns)), columns)
        for table, columns in SIGNED_COLUMNS.items()
    ]
    for official in officials:
        values = {"email": official.email, "name": signed_name(official.id, official.name)}
        old = f"official:{official.id}:{values[old_of]}"[:ACTOR_MAX]
        new = f"official:{official.id}:{values[new_of]}"[:ACTOR_MAX]
        for table, columns in tables:
            for name in columns:
                column = table.c[name]
                bind.execute(table.update().where(column == old).values({name: new}))


def upgrade() -> None:
    _rewrite("email", "name")


def downgrade() -> None:
    _rewrite("name", "email")
