"""an auditor role: reads the audit log, changes nothing

API keys may have the role `auditor`. Existing keys keep their roles. Going back, auditor
keys become revoked reader keys.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 05:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "role IN ('issuer', 'reader', 'manager', 'admin', 'kiosk')"
AFTER = "role IN ('issuer', 'reader', 'manager', 'admin', 'kiosk', 'auditor')"


def _role_check(condition: str) -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_api_key_role_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_api_key_role_known"), condition)


def upgrade() -> None:
    _role_check(AFTER)


def downgrade() -> None:
    # The old schema has no auditor: such keys become revoked readers (they stop working).
    op.execute(
        "UPDATE api_key SET revoked_at = CURRENT_TIMESTAMP "
        "WHERE role = 'auditor' AND revoked_at IS NULL"
    )
    op.execute("UPDATE api_key SET role = 'reader' WHERE role = 'auditor'")
    _role_check(BEFORE)
