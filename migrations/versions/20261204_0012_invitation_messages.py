"""invitation messages: contacts given at handover, the message outbox, opt-outs

A contact (phone, e-mail) is kept only with consent, apart from the invitation; the
outbox has at most one message per invitation, channel and kind; opt-outs keep a keyed
hash of the contact, never the contact.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 13:50:14.909072
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_opt_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_opt_out")),
        sa.UniqueConstraint(
            "contact_hash", "channel", name=op.f("uq_message_opt_out_contact_hash_channel")
        ),
    )
    op.create_table(
        "invitation_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.id"],
            name=op.f("fk_invitation_contact_invitation_id_invitation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_contact")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_invitation_contact_invitation_id")),
    )
    op.create_table(
        "outgoing_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'zalo')", name=op.f("ck_outgoing_message_channel_known")
        ),
        sa.CheckConstraint(
            "kind IN ('invitation', 'reminder')", name=op.f("ck_outgoing_message_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'skipped')",
            name=op.f("ck_outgoing_message_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_outgoing_message_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.id"],
            name=op.f("fk_outgoing_message_invitation_id_invitation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_message")),
        sa.UniqueConstraint(
            "invitation_id",
            "channel",
            "kind",
            name=op.f("uq_outgoing_message_invitation_id_channel_kind"),
        ),
    )
    with op.batch_alter_table("outgoing_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outgoing_message_agency_sent", ["agency_id", "sent_at"], unique=False
        )
        batch_op.create_index(
            "ix_outgoing_message_due", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outgoing_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outgoing_message_due")
        batch_op.drop_index("ix_outgoing_message_agency_sent")

    op.drop_table("outgoing_message")
    op.drop_table("invitation_contact")
    op.drop_table("message_opt_out")
