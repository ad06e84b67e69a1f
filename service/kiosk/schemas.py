"""API shapes of the kiosk: pairing management (keys) and the paired tablet's own calls."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.handovers.schemas import Code
from service.surveys.schemas import AnswersIn
from service.text_clean import Storable
from service.timebounds import BoundedAwareDatetime
from service.web.schemas import Flag, NullAsAbsent, NullsAsAbsent, strict_with_example


class PairingCreate(BaseModel):
    model_config = strict_with_example({"agency_code": "G22.39", "counter_code": "Q01"})

    # The counter's code as handovers name it (a NUL went into the table on SQLite).
    agency_code: Code
    counter_code: Code


class PairingCreated(BaseModel):
    code: str = Field(description="Type it once on the tablet at /kiosk; shown only now")
    expires_at: datetime
    agency_code: str
    counter_code: str
    kiosk_url: str


class DeviceOut(BaseModel):
    id: int
    name: str
    agency_code: str
    counter_code: str
    paired_at: datetime
    unpaired_at: datetime | None = None


class DeviceList(BaseModel):
    data: list[DeviceOut]
    count: int


class PairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, examples=["7KQ4-M2XD"])


class KioskState(BaseModel):
    agency_code: str
    agency_name: str
    counter_code: str
    counter_name: str | None
    idle_seconds: int


# A ticket is "<agency id>.<43 characters>" (service/kiosk/tickets.py); room to spare.
TICKET_MAX_LENGTH = 100
TICKET_DESCRIPTION = (
    "The server's signed proof that this survey was shown to a tablet of an agency entitled "
    "to answer it. The tablet keeps it with the answer and sends it in POST "
    "/kiosk/api/answers: an answer given before the tablet was paired at another agency's "
    "counter is still accepted. It answers that one survey and finds or reads nothing."
)


class SurveyCard(BaseModel):
    """What a tablet needs to show a survey. No token: the device answers by survey_id."""

    cursor: int  # the invitation's id: tablets remember the last one they showed
    survey_id: str
    dossier_code: str
    agency_name: str
    procedure_name: str | None
    short_code: str
    language: str
    # Signed for the tablet's agency as the card leaves for it (router, events, lookup).
    ticket: str | None = Field(default=None, description=TICKET_DESCRIPTION)


class NextSurvey(BaseModel):
    survey: SurveyCard | None


class WaitingSurveys(BaseModel):
    """The counter's queue: every survey handed over within HAILONG_KIOSK_PRESENT_MINUTES
    and not answered yet, oldest first (at most 50)."""

    surveys: list[SurveyCard]


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        min_length=1,
        max_length=300,
        description="A short code, a dossier code of this agency, or a scanned survey link",
    )


class KioskAnswer(NullsAsAbsent):
    model_config = strict_with_example(
        {
            "survey_id": "2b0c1f9e-6a5e-4f51-9d1e-9b2f0c7f3a10",
            "answers": {
                "timeliness": "on_time",
                "supplement_requests": "none",
                "staff_attitude": "good",
                "overall": "satisfied",
            },
            "client_submission_id": "0b6f7c1e-4d0a-4c55-9a55-2f7d8f1a3b21",
        }
    )

    survey_id: str = Field(min_length=1, max_length=36)
    answers: AnswersIn
    # Made once per survey on the tablet: a retry after a network drop, or a second tap,
    # carries the same id and is stored once.
    client_submission_id: Annotated[str, Storable] = Field(min_length=1, max_length=64)
    # When the citizen answered, and when the tablet sent this (both the tablet's clock):
    # an answer kept offline for a while still counts on the day it was given, within the
    # survey's lifetime. The server takes the time between the two from its own clock, so
    # a tablet clock that is off moves no answer.
    answered_at: BoundedAwareDatetime | None = None
    sent_at: BoundedAwareDatetime | None = None
    # As in POST /api/v1/responses: a phone number or e-mail for the agency's answer,
    # checked the same way and stored apart from the answers, only with consent.
    contact: Annotated[str, Storable] | None = Field(default=None, max_length=255)
    contact_consent: Annotated[bool, Flag, NullAsAbsent()] = False
    # The card's ticket (an outbox entry from before tickets has none: judged as before).
    ticket: str | None = Field(
        default=None, max_length=TICKET_MAX_LENGTH, description=TICKET_DESCRIPTION
    )


class KioskAnswered(BaseModel):
    response_id: int
    status: Literal["answered"] = "answered"
    # When the comment got a follow-up link (an answer asked for, or a contact left): the
    # citizen's private page, which the tablet shows as a QR code on its thank-you screen
    # and then forgets. Never store it on the tablet.
    followup_url: str | None = None
