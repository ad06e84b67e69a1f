"""who revoked a key names an official by name, not their mailbox

A province official unpairing a ward's tablet in the console was stored as the key's
revoker with their e-mail address ("official:<id>:<e-mail>"), which the ward's own admin
key read in GET /api/v1/keys and in a 409, while the officials API does not show it that
official (scope audit). Revokers are now signed "official:<id>:<name>"
(auth/principal.Principal.signature, admin/keys.shown_as); this rewrites the ones already
stored, as 0030 did for period inputs. The audit log keeps the address, as recorded.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR_MAX = 255  # service/models/base.py at this revision


def signed_name(official_id: int, name: str) -> str:
    """Principal.signature's rule at this revision: one added without a name has their
    mailbox as name, which is not shown."""
    return name if name.strip() and "@" not in name else f"Cán bộ #{official_id}"


def _rewrite(old_of: str, new_of: str) -> None:
    bind = op.get_bind()
    officials = bind.execute(sa.text("SELECT id, email, name FROM official")).all()
    api_key = sa.table("api_key", sa.column("revoked_by"))
    for official in officials:
        values = {"email": official.email, "name": signed_name(official.id, official.name)}
        old = f"official:{official.id}:{values[old_of]}"[:ACTOR_MAX]
        new = f"official:{official.id}:{values[new_of]}"[:ACTOR_MAX]
        bind.execute(
            api_key.update().where(api_key.c.revoked_by == old).values(revoked_by=new)
        )


def upgrade() -> None:
    _rewrite("email", "name")


def downgrade() -> None:
    _rewrite("name", "email")
