"""Invitations by message: the citizen's contact given at handover, the message outbox,
and the contacts that asked never to be messaged again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.models.base import UTCDateTime, check_known, utcnow
from service.models.leased import LeasedSend, status_known


class InvitationContact(SQLModel, table=True):
    """A phone or e-mail given at handover, kept only with consent and apart from
    everything that leaves hailong (pages, webhooks, exports never read this table).
    Removed by `hailong purge` once its invitation is finished and the retention passed."""

    __tablename__ = "invitation_contact"

    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = Field(foreign_key="invitation.id", unique=True)
    phone: str | None = Field(default=None, max_length=16)  # "84xxxxxxxxx"
    email: str | None = Field(default=None, max_length=254)
    consent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutgoingMessageRow(LeasedSend, table=True):
    """One message to send (or the reason it is not sent). At most one per invitation,
    channel and kind: a citizen never gets the same message twice for one dossier."""

    __tablename__ = "outgoing_message"
    __table_args__ = (
        UniqueConstraint("invitation_id", "channel", "kind"),
        check_known("channel", ("email", "sms", "zalo")),
        check_known("kind", ("invitation", "reminder")),
        status_known(),
        # What the worker looks for: the due pending ones.
        Index("ix_outgoing_message_due", "status", "next_attempt_at"),
        # The daily cap counts an agency's messages sent today.
        Index("ix_outgoing_message_agency_sent", "agency_id", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = Field(foreign_key="invitation.id")
    agency_id: int = Field(foreign_key="agency.id")
    channel: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    provider_id: str | None = Field(default=None, max_length=255)


class MessageOptOut(SQLModel, table=True):
    """A contact that asked never to be messaged on a channel again. Only a keyed hash of
    the normalised contact is kept (service/messaging/contacts.py), never the contact."""

    __tablename__ = "message_opt_out"
    __table_args__ = (UniqueConstraint("contact_hash", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_hash: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
