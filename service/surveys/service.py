"""Answering a survey: finding the invitation, storing one response, opening petitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from service.calendar.working_days import local_date
from service.errors import Conflict, Gone, NotFound, ServiceError
from service.handovers import tokens
from service.handovers.service import Issued, current_status, find_by_token, find_issued
from service.models import Agency, Dossier, Invitation, Petition, Response, ResponseContact, utcnow
from service.petitions.service import open_from_complaint
from service.profile import Profile
from service.scoring import events
from service.scoring.contributions import Delta, is_unsatisfied, response_delta
from service.surveys.answers import Answers
from service.webhooks import outbox, payloads

# Stored states in which a survey may still be answered (its expiry is checked before).
_ANSWERABLE = ("issued", "opened")


class AlreadyAnswered(Conflict):
    code = "already_answered"


class SubmissionIdReused(Conflict):
    code = "client_submission_id_reused"


class Expired(Gone):
    code = "expired"


class Revoked(Gone):
    code = "revoked"


@dataclass
class Submitted:
    response: Response
    created: bool
    petition: Petition | None = None


def find_by_short_code(session: Session, typed: str) -> Issued | None:
    code = tokens.normalize_short_code(typed)
    if len(code) != tokens.SHORT_CODE_LENGTH:
        return None
    return find_issued(session, col(Invitation.short_code) == code)


def find_invitation(session: Session, token: str | None, short_code: str | None) -> Issued:
    issued = find_by_token(session, token) if token else None
    if issued is None and short_code:
        issued = find_by_short_code(session, short_code)
    if issued is None:
        raise NotFound("No survey has this link or code. Check it against the slip.")
    return issued


def ensure_answerable(invitation: Invitation) -> None:
    status = current_status(invitation)
    if status == "answered":
        raise AlreadyAnswered("This survey has already been answered. Thank you!")
    if status == "revoked":
        raise Revoked("This survey link was withdrawn by the office.")
    if status == "expired":
        raise Expired("This survey link has expired.")


def mark_opened(session: Session, invitation: Invitation) -> None:
    if invitation.status == "issued" and current_status(invitation) == "issued":
        invitation.status = "opened"
        invitation.opened_at = utcnow()
        session.add(invitation)


def agency_of(session: Session, dossier: Dossier) -> Agency:
    agency = session.get(Agency, dossier.agency_id)
    assert agency is not None
    return agency


def _existing_for_submission(
    session: Session, client_submission_id: str | None, invitation: Invitation
) -> Response | None:
    if client_submission_id is None:
        return None
    earlier = session.exec(
        select(Response).where(Response.client_submission_id == client_submission_id)
    ).first()
    if earlier is not None and earlier.invitation_id != invitation.id:
        raise SubmissionIdReused(
            "This client_submission_id was already used for another survey; "
            "generate a new one for each submission."
        )
    return earlier


def replay_or_ensure_answerable(
    session: Session, issued: Issued, client_submission_id: str | None
) -> Response | None:
    """The earlier response when this submission was already stored; else check the state.

    Runs before the answers are validated, so that an answered survey says 409 whatever the
    second submission contains.
    """
    earlier = _existing_for_submission(session, client_submission_id, issued.invitation)
    if earlier is None:
        ensure_answerable(issued.invitation)
    return earlier


@dataclass(frozen=True)
class Submission:
    """Where an answer comes from: its channel (`source`), the client's id for retries,
    and when it was given (an import's or a tablet's time; else now)."""

    source: str
    client_submission_id: str | None = None
    received_at: datetime | None = None


def submit(
    session: Session, issued: Issued, answers: Answers, profile: Profile, how: Submission
) -> Submitted:
    """Store the one response of an invitation. Safe to retry with the same submission id."""
    earlier = replay_or_ensure_answerable(session, issued, how.client_submission_id)
    if earlier is not None:
        return Submitted(earlier, created=False)
    return store(session, issued, answers, profile, how)


def store(
    session: Session, issued: Issued, answers: Answers, profile: Profile, how: Submission
) -> Submitted:
    """`submit` once `replay_or_ensure_answerable` has found no earlier submission."""
    client_submission_id, received_at = how.client_submission_id, how.received_at
    invitation, dossier = issued.invitation, issued.dossier
    now = utcnow()
    assert invitation.id is not None
    choices = answers.choices
    response = Response(
        invitation_id=invitation.id,
        agency_id=dossier.agency_id,
        client_submission_id=client_submission_id,
        source=how.source,
        timeliness=choices.get("timeliness"),
        supplement_requests=choices.get("supplement_requests"),
        staff_attitude=choices.get("staff_attitude"),
        overall=choices.get("overall"),
        complaint=answers.complaint,
        received_at=received_at or now,
        received_day=local_date(received_at or now),
    )
    if not _claim(session, invitation, now):
        return _after_lost_race(session, invitation, client_submission_id)
    session.add(response)
    session.flush()  # its id, for the contact and the events
    if answers.contact is not None:
        assert response.id is not None
        session.add(ResponseContact(response_id=response.id, contact=answers.contact))
    events.record_change(session, Delta(), response_delta(response, dossier, profile))
    if is_unsatisfied(response, profile):
        events.mark_dossier(session, dossier, profile, unsatisfied=True)
    outbox.emit(
        session,
        "response.submitted",
        response.agency_id,
        payloads.response_submitted(session, response, dossier),
    )
    petition = None
    if answers.complaint:
        petition = open_from_complaint(
            session,
            response,
            dossier,
            profile,
            wants_reply=answers.wants_reply,
            has_contact=answers.contact is not None,
        )
    session.flush()
    return Submitted(response, created=True, petition=petition)


def _claim(session: Session, invitation: Invitation, now: datetime) -> bool:
    """Mark the invitation answered, unless another submission (or a revocation) got there
    first: the invitation's row lock decides between simultaneous ones, the later one
    waiting for the first to commit and then finding it answered. No error is raised, so
    a transaction shared with other answers (write_pipeline.py) goes on."""
    claimed = session.execute(
        update(Invitation)
        .where(col(Invitation.id) == invitation.id, col(Invitation.status).in_(_ANSWERABLE))
        .values(status="answered", answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(invitation, "status", "answered")
    set_committed_value(invitation, "answered_at", now)
    return True


def _after_lost_race(
    session: Session, invitation: Invitation, client_submission_id: str | None
) -> Submitted:
    winner = session.exec(select(Response).where(Response.invitation_id == invitation.id)).first()
    if winner is None:  # withdrawn by the office meanwhile
        raise Revoked("This survey link was withdrawn by the office.")
    if client_submission_id is not None and winner.client_submission_id == client_submission_id:
        return Submitted(winner, created=False)
    raise AlreadyAnswered("This survey has already been answered. Thank you!")


def status_error_kind(exc: ServiceError) -> str:
    """Which friendly page a survey error becomes."""
    return {
        AlreadyAnswered: "answered",
        Revoked: "revoked",
        Expired: "expired",
        NotFound: "unknown",
    }.get(type(exc), "unknown")
