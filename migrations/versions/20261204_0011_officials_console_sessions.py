"""officials and server-side console sessions

Officials (e-mail, role, agency scope) sign in to the console through the province's
OpenID Connect provider. Console sessions are rows, so that signing out ends them on the
server; sessions issued before this revision were cookies only and are signed out (their
cookies name no row).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 13:36:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "official",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_by", sa.String(length=255), nullable=True),
        sa.CheckConstraint(
            "role IN ('manager', 'admin', 'auditor')", name=op.f("ck_official_role_known")
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_official_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_official")),
        sa.UniqueConstraint("email", name=op.f("uq_official_email")),
    )
    op.create_table(
        "console_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("official_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(key_id IS NULL) <> (official_id IS NULL)",
            name=op.f("ck_console_session_one_kind_of_principal"),
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_key.id"], name=op.f("fk_console_session_key_id_api_key")
        ),
        sa.ForeignKeyConstraint(
            ["official_id"], ["official.id"], name=op.f("fk_console_session_official_id_official")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_session")),
    )
    with op.batch_alter_table("console_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_session_key_id"), ["key_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_console_session_official_id"), ["official_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("console_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_session_official_id"))
        batch_op.drop_index(batch_op.f("ix_console_session_key_id"))

    op.drop_table("console_session")
    op.drop_table("official")
