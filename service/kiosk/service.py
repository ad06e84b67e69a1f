"""What the kiosk routes do, apart from HTTP: pairing a tablet (throttled), knowing which
tablet calls, finding the survey a citizen brings, storing the tablet's answers, and the
questionnaire its page carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from service import throttle
from service.auth.keys import record_use
from service.errors import NotFound, Unauthorized
from service.kiosk import pairing, presenting, tickets
from service.kiosk.schemas import DeviceOut, KioskAnswer, KioskState, SurveyCard
from service.messaging.contacts import EMAIL_PATTERN
from service.models import Petition, utcnow
from service.profile import Profile
from service.surveys import service as surveys
from service.surveys.answers import Answers
from service.surveys.api_answers import checked_json_answers
from service.surveys.pages import ICONS
from service.timebounds import CLOCKS_APART
from service.unit_of_work import UnitOfWork


def device_out(device: pairing.Device) -> DeviceOut:
    assert device.key.id is not None
    return DeviceOut(
        id=device.key.id,
        name=device.key.name,
        agency_code=device.agency.code,
        counter_code=device.counter.code,
        paired_at=device.key.created_at,
        unpaired_at=device.key.revoked_at,
    )


def device_state(device: pairing.Device, idle_seconds: int) -> KioskState:
    return KioskState(
        agency_code=device.agency.code,
        agency_name=device.agency.name,
        counter_code=device.counter.code,
        counter_name=device.counter.name,
        idle_seconds=idle_seconds,
    )


def require_device(session: Session, raw_key: str) -> pairing.Device:
    """The paired tablet behind a device key (401 when there is none), its key's use
    recorded as any key's: GET /api/v1/keys listed a tablet at work every day as never
    used (audit). Every request of a paired tablet comes here, but for the checks of an
    open event stream (`still_paired`); at most one write a minute (LAST_USED_GRANULARITY),
    however often it calls."""
    device = pairing.device_for_key(session, raw_key) if raw_key else None
    if device is None:
        raise Unauthorized(
            "This tablet is not paired with a counter (or was unpaired). "
            "Enter a pairing code from the console."
        )
    record_use(session, device.key, utcnow())
    return device


def still_paired(engine: Engine, raw_key: str) -> bool:
    """For an open event stream, between events: its own short transaction, which only
    reads (outside a unit of work, it would write beside SQLite's write lock). The stream
    was opened by `require_device`, and is opened again every few minutes."""
    with Session(engine) as session:
        return pairing.device_for_key(session, raw_key) is not None


async def pair(work: UnitOfWork, code: str, previous_key: str) -> tuple[KioskState, str]:
    """Redeem a pairing code; wrong codes count against the caller's address (429): a
    tablet that is not paired yet has nothing else to be known by. A tablet paired again
    (`previous_key`: the device key it still holds) is unpaired from where it was: its old
    key went on answering the old counter, listed as a second device (kiosk audit)."""

    def redeem(session: Session, guess: throttle.Guess) -> tuple[KioskState, str]:
        device, raw_key = guess.look(
            session, lambda: pairing.redeem(session, code), misses=(pairing.PairingCodeInvalid,)
        )
        before = pairing.device_for_key(session, previous_key) if previous_key else None
        if before is not None and before.key.id is not None:
            pairing.unpair(session, before.key.id, actor="kiosk", principal=None)
        return device_state(device, work.settings.kiosk_idle_seconds), raw_key

    return await work.guarded(redeem)


async def lookup(work: UnitOfWork, raw_device_key: str, typed: str) -> SurveyCard:
    """The survey a citizen typed or scanned; wrong codes count against this tablet (its
    device key, one per pairing), not the address an office's tablets share (429)."""

    def find(session: Session, guess: throttle.Guess) -> SurveyCard:
        device = require_device(session, raw_device_key)
        card = guess.look(
            session, lambda: presenting.present_typed(session, device, typed), misses=(NotFound,)
        )
        return tickets.stamped(card, work.settings.signing_key(), device.agency.id)

    guesser = f"kiosk:{raw_device_key}"  # hashed with the signing key before it is stored
    return await work.guarded(find, who=guesser)


@dataclass(frozen=True)
class Answered:
    created: bool  # False: this submission was stored before (200)
    response_id: int
    petition: Petition | None  # the comment's feedback item, if any


# How long a tablet's outbox may have kept an answer (its network down) for the answer to
# be judged and dated when given: a weekend's outage. An answer said to be older is taken
# as given now: the device key was enough to answer a survey expired ten days before, dated
# 39 days back into a period already reported (scoring audit).
OFFLINE_ALLOWANCE = timedelta(days=3)


def _answered_at(payload: KioskAnswer, issued_at: datetime, now: datetime) -> datetime:
    """When the citizen answered, on the server's clock. With the tablet's clock at the
    answer and at sending, the time between the two is taken back from now: a tablet clock
    days slow put answers days back, even in an earlier period (audit). Without `sent_at`
    (a tablet's script from before), its answer time is taken as it is when plausible.
    Never more than OFFLINE_ALLOWANCE back."""
    answered_at = payload.answered_at
    if answered_at is not None and payload.sent_at is not None:
        answered_at = now - max(timedelta(0), payload.sent_at - answered_at)
    if answered_at is None or not (
        max(issued_at, now - OFFLINE_ALLOWANCE) - CLOCKS_APART <= answered_at <= now + CLOCKS_APART
    ):
        return now  # a tablet clock that is off does not move answers in time
    # Within the skew allowed, never before the survey was issued: an answer at 23:59 of
    # the month before counted in that period (kiosk audit).
    return max(issued_at, min(answered_at, now))


def answer(
    session: Session,
    device: pairing.Device,
    payload: KioskAnswer,
    profile: Profile,
    signing_key: bytes,
    language: str | None = None,
) -> Answered:
    """The same client_submission_id again is stored once (and answered the same way).
    `language`: the screen's when the citizen answered, where the tablet says."""
    shown_at = tickets.shown_at(signing_key, payload.ticket, payload.survey_id)
    issued = presenting.find_for_answer(session, device, payload.survey_id, shown_at)
    # Judged when the citizen answered: an outbox may deliver after the survey's expiry.
    answered_at = _answered_at(payload, issued.invitation.issued_at, utcnow())
    earlier = surveys.replay_or_ensure_answerable(
        session, issued, payload.client_submission_id, answered_at
    )

    def checked() -> Answers:
        # The contact and its consent are checked as on the phone and by the API.
        return checked_json_answers(
            profile,
            payload.answers,
            "kiosk",
            payload.contact,
            payload.contact_consent,
            language,
        )

    if earlier is not None:
        assert earlier.id is not None
        surveys.ensure_retry(session, earlier, checked)
        petition = session.exec(select(Petition).where(Petition.response_id == earlier.id)).first()
        return Answered(False, earlier.id, petition)
    answers = checked()
    how = surveys.Submission("kiosk", payload.client_submission_id, answered_at)
    submitted = surveys.submit(session, issued, answers, profile, how)
    assert submitted.response.id is not None
    return Answered(submitted.created, submitted.response.id, submitted.petition)


def page_config(profile: Profile, idle_seconds: int) -> dict[str, Any]:
    """The questionnaire in both languages, for the page's script: the same page for every
    tablet, so that the service worker can keep it for offline use."""
    questions = [
        {
            "field": q.field,
            "required": q.required_on("kiosk"),
            "text": {lang: q.text(lang) for lang in ("vi", "en")},
            "answers": [
                {
                    "value": a.value,
                    "icon": a.icon,
                    "label": {lang: a.label(lang) for lang in ("vi", "en")},
                }
                for a in q.answers
            ],
        }
        for q in profile.survey.questions
    ]
    return {
        "questions": questions,
        "icons": ICONS,
        "complaint_max": profile.survey.complaint_max_chars,
        "idle_seconds": idle_seconds,
        "email_pattern": EMAIL_PATTERN,
    }
