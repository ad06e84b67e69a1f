"""Records for surveys, responses, agencies, petitions and calendar days, as the API returns
them.

Every record is built from the fields it knows, so fields the server adds later are ignored.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypedDict

from hailong_client._json import JSON, to_datetime, to_datetime_or_none


class Answers(TypedDict, total=False):
    """The survey's answers; see the scoring profile for each question's options."""

    timeliness: str
    supplement_requests: str
    staff_attitude: str
    overall: str
    agencies_contacted: str
    complaint: str
    wants_reply: bool  # the complaint asks the agency to answer (a petition with a deadline)


class Staff(TypedDict, total=False):
    """Staff codes at each step of the dossier; unknown codes are registered."""

    receiving: str
    handling: str
    returning: str


class Contact(TypedDict, total=False):
    """The citizen's phone and/or e-mail, to send the survey link to (README "Invitations by
    message"): `phone` a Vietnamese mobile, `email` an address. Nothing is stored and no
    message sent without `consent: True`."""

    phone: str
    email: str
    consent: bool


class Message(TypedDict):
    """One message of the survey's invitation (or reminder) and what became of it."""

    channel: str  # "email", "sms" or "zalo"
    kind: str  # "invitation" or "reminder"
    status: str  # "pending", "sent", "failed" or "skipped"
    reason: str | None  # why it is skipped or failed


@dataclass(frozen=True)
class Survey:
    survey_id: str
    dossier_code: str
    survey_url: str
    short_code: str
    qr_svg_url: str
    qr_png_url: str
    slip_url: str
    expires_at: datetime
    status: str
    created: bool  # False when the dossier was already known (HTTP 200)
    # The invitation's messages (a handover with a contact); [] without a contact.
    messages: list[Message] = field(default_factory=list)

    @property
    def token(self) -> str:
        """The token in survey_url (`https://host/s/<token>`): the citizen's credential."""
        return self.survey_url.rstrip("/").rsplit("/", 1)[1]

    @classmethod
    def from_json(cls, body: JSON, created: bool) -> Survey:
        return cls(
            survey_id=body["survey_id"],
            dossier_code=body["dossier_code"],
            survey_url=body["survey_url"],
            short_code=body["short_code"],
            qr_svg_url=body["qr_svg_url"],
            qr_png_url=body["qr_png_url"],
            slip_url=body["slip_url"],
            expires_at=to_datetime(body["expires_at"]),
            status=body["status"],
            created=created,
            messages=[
                Message(
                    channel=m["channel"],
                    kind=m["kind"],
                    status=m["status"],
                    reason=m.get("reason"),
                )
                for m in body.get("messages", [])
            ],
        )


@dataclass(frozen=True)
class Submission:
    """The result of POST /api/v1/responses."""

    response_id: int
    status: str  # "answered"
    created: bool  # False when the same client_submission_id was replayed (HTTP 200)
    # The citizen's private link to the agency's reply, when the complaint opened one: the
    # only way back to it (show it, or send it to them).
    followup_url: str | None = None

    @classmethod
    def from_json(cls, body: JSON, created: bool) -> Submission:
        return cls(
            response_id=int(body["response_id"]),
            status=body["status"],
            created=created,
            followup_url=body.get("followup_url"),
        )


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    parent_code: str | None
    level: int

    @classmethod
    def from_json(cls, body: JSON) -> Agency:
        return cls(
            code=body["code"],
            name=body["name"],
            parent_code=body.get("parent_code"),
            level=int(body["level"]),
        )


Verdict = Literal["satisfied", "unsatisfied"]


@dataclass(frozen=True)
class Petition:
    petition_code: str
    agency_code: str
    dossier_code: str | None
    source: str  # "survey" or "import"
    received_at: datetime
    deadline_at: datetime | None
    handled_at: datetime | None
    citizen_verdict: str | None
    result_complaint: bool
    within_authority: bool
    handled_on_time: bool
    created: bool  # False when a petition with this code was updated (HTTP 200)

    @classmethod
    def from_json(cls, body: JSON, created: bool) -> Petition:
        return cls(
            petition_code=body["petition_code"],
            agency_code=body["agency_code"],
            dossier_code=body.get("dossier_code"),
            source=body["source"],
            received_at=to_datetime(body["received_at"]),
            deadline_at=to_datetime_or_none(body.get("deadline_at")),
            handled_at=to_datetime_or_none(body.get("handled_at")),
            citizen_verdict=body.get("citizen_verdict"),
            result_complaint=bool(body["result_complaint"]),
            within_authority=bool(body["within_authority"]),
            handled_on_time=bool(body["handled_on_time"]),
            created=created,
        )


@dataclass(frozen=True)
class CalendarDay:
    """A day of the working-day calendar (GET/PUT/DELETE /api/v1/calendar/overrides/{date}):
    whether it is a working day, and whether a local override (a day off, a make-up working
    day) says so rather than the national calendar."""

    date: _dt.date
    working: bool
    overridden: bool
    note: str | None
    # Late dossiers re-scored because this change moved their working-day count (a PUT or
    # DELETE); 0 on reads.
    dossiers_rescored: int = 0

    @classmethod
    def from_json(cls, body: JSON) -> CalendarDay:
        return cls(
            date=_dt.date.fromisoformat(str(body["date"])),
            working=bool(body["working"]),
            overridden=bool(body["overridden"]),
            note=body.get("note"),
            dossiers_rescored=int(body.get("dossiers_rescored") or 0),
        )
