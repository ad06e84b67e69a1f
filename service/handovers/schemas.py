"""API shapes for issuing a survey at handover."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.messaging.schemas import ContactIn, MessagePublic
from service.text_clean import CodeText, Composed, Storable, Stripped
from service.timebounds import BoundedAwareDatetime, PastMoment
from service.web.schemas import NullAsAbsent, NullsAsAbsent, WholeCount, strict_with_example

# Dossier codes travel in URL paths (revoke), so no '/' and no spaces.
DOSSIER_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"


# The limits inside the type, so that a too long value is told in characters.
Code = Annotated[str, StringConstraints(min_length=1, max_length=64), Storable, CodeText]
ProcedureCode = Annotated[str, StringConstraints(max_length=64), Storable]
ProcedureName = Annotated[str, StringConstraints(max_length=500), Storable, Composed]


class StaffRefs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receiving: Code | None = None
    handling: Code | None = None
    returning: Code | None = None


class HandoverCreate(NullsAsAbsent):
    model_config = strict_with_example(
        {
            "dossier_code": "G22.39-250915-0001",
            "agency_code": "G22.39",
            "procedure_code": "1.001612",
            "procedure_name": "Đăng ký khai sinh",
            "received_at": "2025-09-10T08:30:00+07:00",
            "due_at": "2025-09-15T17:00:00+07:00",
            "resolved_at": "2025-09-15T10:00:00+07:00",
            "handed_over_at": "2025-09-15T14:00:00+07:00",
            "supplement_requests": 0,
            "channel": "counter",
            "staff": {"receiving": "CB001", "handling": "CB002", "returning": "CB003"},
            "counter_code": "Q01",
            "language": "vi",
        }
    )

    # Without the spaces around it, as the other codes (text_clean.code_text): a one-stop
    # system that keeps codes in a fixed-width column sent "G22.39-1   " and every
    # handover was a 422 (handover audit). A space inside is still refused (the pattern).
    dossier_code: Annotated[str, Stripped] = Field(
        min_length=1, max_length=64, pattern=DOSSIER_CODE_PATTERN
    )
    agency_code: Code
    procedure_code: ProcedureCode | None = None
    procedure_name: ProcedureName | None = None
    received_at: BoundedAwareDatetime | None = None
    due_at: BoundedAwareDatetime | None = None
    resolved_at: PastMoment
    handed_over_at: PastMoment | None = None  # an imported survey expires from it
    supplement_requests: Annotated[int, Field(ge=0, le=1000), WholeCount, NullAsAbsent()] = 0
    channel: Literal["counter", "online", "postal"] | None = None
    staff: Annotated[StaffRefs, NullAsAbsent()] = Field(default_factory=StaffRefs)
    counter_code: Code | None = None
    # Not sent (or null), a re-post keeps the invitation's language (one_by_one.py).
    language: Annotated[Literal["vi", "en"], NullAsAbsent()] = "vi"
    # The survey link by e-mail/SMS/Zalo (README "Invitations by message"); never shown
    # on pages, webhooks or exports.
    contact: ContactIn | None = None


InvitationStatus = Literal["issued", "opened", "answered", "expired", "revoked"]


class HandoverPublic(BaseModel):
    survey_id: str
    dossier_code: str
    survey_url: str
    short_code: str = Field(examples=["7KQ4-M2XD"])
    qr_svg_url: str
    qr_png_url: str
    slip_url: str
    expires_at: datetime
    status: InvitationStatus
    # The survey link sent by message: one entry per channel, pending or skipped (reason).
    messages: list[MessagePublic] = Field(default_factory=list)
