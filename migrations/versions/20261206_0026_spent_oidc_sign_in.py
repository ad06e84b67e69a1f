"""spent_oidc_sign_in: an OpenID Connect sign-in's pending cookie is one use

The state, nonce and PKCE verifier of a sign-in under way live only in the browser's
signed cookie, and after the provider's answer the browser was only asked to forget it: a
copy of the cookie, with another code for the same authorization request, signed a browser
in again within its 10 minutes (audit). The callback now records the sign-in as spent (the
sha256 of its state, never the state) before it asks the provider for the tokens; a second
answer for it finds the row and is refused. Rows go once the cookie itself would be
refused (`expires_at`, indexed: the callback deletes them).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spent_oidc_sign_in",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spent_oidc_sign_in")),
    )
    with op.batch_alter_table("spent_oidc_sign_in") as batch:
        batch.create_index(batch.f("ix_spent_oidc_sign_in_expires_at"), ["expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("spent_oidc_sign_in") as batch:
        batch.drop_index(batch.f("ix_spent_oidc_sign_in_expires_at"))
    op.drop_table("spent_oidc_sign_in")
