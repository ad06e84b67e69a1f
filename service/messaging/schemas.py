"""API shapes of invitations by message: the contact a handover may carry, and what the
handover's answer says of its messages."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.messaging import contacts
from service.web.schemas import Flag, NullAsAbsent, NullsAsAbsent

ChannelName = Literal["email", "sms", "zalo"]


class ContactIn(NullsAsAbsent):
    """The citizen's phone and/or e-mail, to send the survey link to. Used only with
    `consent`: without it nothing is stored and no message is sent."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(
        default=None, max_length=32, examples=["0912345678"], description="A Vietnamese mobile"
    )
    email: str | None = Field(default=None, max_length=254, examples=["a@b.vn"])
    consent: Annotated[bool, Flag, NullAsAbsent()] = Field(
        default=False, description="The citizen agreed to get the survey link by message"
    )

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return contacts.normalize_phone(value) if value else None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return contacts.normalize_email(value) if value else None


class MessagePublic(BaseModel):
    """One message of the survey's invitation (or reminder) and what became of it."""

    channel: ChannelName
    kind: Literal["invitation", "reminder"] = "invitation"
    status: Literal["pending", "sent", "failed", "skipped"]
    reason: str | None = Field(
        default=None,
        description="Why it is skipped or failed: no_contact, no_consent, "
        "channel_not_configured, opted_out, answered, expired, revoked, or the provider's "
        "refusal; for a pending one, why it waits: channel_not_configured (it goes once the "
        "worker has the channel) or the provider's last temporary failure",
    )
