"""Answering a survey: finding the invitation, storing one response, opening petitions.

The answer's own writes are Core statements built once from the tables: the invitation
claimed (UPDATE) and the response (INSERT ... RETURNING id), one statement on PostgreSQL
(`_claim_and_insert`), and, with the COMMIT
(db.at_commit), its event, the day counters and the dossier's flag. Only a comment (a
petition) or a contact, which few answers carry, goes through the ORM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Executable, Insert, Select, Update, bindparam, insert, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from service import db, throttle
from service.calendar.working_days import LOCAL_TZ, local_date
from service.errors import Conflict, Gone, InvalidInput, NotFound, ServiceError, field_error
from service.handovers import tokens
from service.handovers.service import Issued, current_status, find_issued
from service.models import Dossier, Invitation, Petition, Response, ResponseContact, utcnow
from service.models.write_order import written_columns
from service.petitions.service import open_from_complaint
from service.profile import Profile
from service.scoring import events
from service.scoring.contributions import Delta, dossier_delta, is_unsatisfied, response_delta
from service.surveys import lookup
from service.surveys.answers import Answers
from service.surveys.lookup import Row, Survey
from service.timebounds import CLOCKS_APART
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
    response: Row  # the response's columns, as stored (and its id)
    created: bool
    petition: Petition | None = None


def find_by_short_code(session: Session, typed: str) -> Issued | None:
    """The mapped invitation and dossier (the kiosk's presenting reads them)."""
    code = tokens.normalize_short_code(typed)
    if len(code) != tokens.SHORT_CODE_LENGTH:
        return None
    return find_issued(session, col(Invitation.short_code) == code)


def find_invitation(
    session: Session,
    guess: throttle.Guess,
    token: str | None,
    short_code: str | None,
    submission_id: str | None = None,
) -> Survey:
    """The survey of a token or (else) a short code, looked up under the guessing throttle
    (which reads its count in the lookup's statement); NotFound (404) when none."""
    survey = guess.look_counting(
        lambda params: (
            lookup.by_token(session, token, submission_id, params)
            if token
            else lookup.by_short_code(session, short_code or "", submission_id, params)
        )
    )
    if survey is None:
        raise NotFound("No survey has this link or code. Check it against the slip.")
    return survey


def ensure_answerable(invitation: Invitation | Row, at: datetime | None = None) -> None:
    """`at`: when the answer was given, where that is known and not now (a tablet's outbox
    delivering later, an import): a survey answered before its expiry was refused as
    expired when the answer arrived after it, and a tablet dropped it (audit)."""
    # current_status reads the status and the expiry, which the row has as the model does.
    status = current_status(cast(Invitation, invitation), at)
    if status == "answered":
        raise AlreadyAnswered("This survey has already been answered. Thank you!")
    if status == "revoked":
        raise Revoked("This survey link was withdrawn by the office.")
    if status == "expired":
        raise Expired("This survey link has expired.")


# A form shown before its survey expired may be sent this long after the expiry: read and
# filled on a slow phone in the survey's last minutes, it was refused as expired and every
# answer typed was lost (audit). The tablet's answers have their own allowance
# (kiosk/service.py: judged when given).
SHOWN_FORM_GRACE = timedelta(hours=1)


def form_judged_at(invitation: Invitation | Row, now: datetime) -> datetime:
    """When a posted form's answer is judged: when it was shown, if it was shown before the
    expiry (the survey "opened") and is sent within SHOWN_FORM_GRACE after it; else now.
    Stored, the answer takes the server's time all the same."""
    opened_at = invitation.opened_at
    if (
        invitation.status == "opened"
        and opened_at is not None
        and opened_at < invitation.expires_at <= now < invitation.expires_at + SHOWN_FORM_GRACE
    ):
        return cast(datetime, opened_at)
    return now


def check_answered_after_receipt(
    submitted_at: datetime, received_at: datetime | None, resolved_at: datetime
) -> None:
    """A given answer time (an admin's `submitted_at`, an imported row's) is not before the
    dossier was received (its result, when the one-stop system sent no receipt time): a
    typed year (2024 for 2025) was stored, and counted the answer in a period a year before
    its dossier existed (audit). Not bound by the result itself: an older survey system's
    dates (a day without its hour, another machine's clock) fall a little before it. A
    phone's or a tablet's answer takes the server's time, after the handover: it is not
    checked here, so no one-stop system's fast clock can refuse a citizen."""
    first = received_at if received_at is not None else resolved_at
    if submitted_at < first - CLOCKS_APART:
        name = "received_at" if received_at is not None else "resolved_at"
        shown = first.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        raise field_error(
            "submitted_at",
            f"is before the dossier's {name} ({shown}, Vietnam time); check both times",
        )


def mark_opened(session: Session, survey: Survey) -> None:
    """Written with the COMMIT: nothing reads it back. Only an invitation still "issued"
    becomes "opened" (an answer committed meanwhile stays answered)."""
    invitation = survey.invitation
    if invitation.status == "issued" and current_status(cast(Invitation, invitation)) == "issued":
        now = utcnow()
        invitation.status, invitation.opened_at = "opened", now
        _with_commit(
            session, "opened", _open_statement, {"invitation_id": invitation.id, "now": now}
        )


def _check_earlier(earlier_invitation_id: int, invitation_id: int) -> None:
    if earlier_invitation_id != invitation_id:
        raise SubmissionIdReused(
            "This client_submission_id was already used for another survey; "
            "generate a new one for each submission."
        )


def replay_or_ensure_answerable(
    session: Session, issued: Issued, client_submission_id: str | None, at: datetime | None
) -> Response | None:
    """The earlier response when this submission was already stored; else check the state.

    Runs before the answers are validated, so that an answered survey says 409 whatever
    answers the second submission gives (a choice not offered, a question the profile no
    longer asks). A body its request schema refuses (a key no submission has, a value over
    its length) is 422 before any survey is looked up: it is not a submission. (For a
    survey found through the ORM, as the kiosk's; a `Survey` has the earlier submission
    already: `earlier_submission`.)
    """
    earlier = None
    if client_submission_id is not None:
        earlier = session.exec(
            select(Response).where(Response.client_submission_id == client_submission_id)
        ).first()
    if earlier is None:
        ensure_answerable(issued.invitation, at)
        return None
    _check_earlier(earlier.invitation_id, cast(int, issued.invitation.id))
    return earlier


def earlier_submission(survey: Survey, at: datetime | None) -> int | None:
    """`replay_or_ensure_answerable` for a `Survey`: the id of the response stored earlier
    under this submission id, or None once the survey is found answerable."""
    if survey.earlier_id is None:
        ensure_answerable(survey.invitation, at)
        return None
    assert survey.earlier_invitation_id is not None
    _check_earlier(survey.earlier_invitation_id, survey.invitation.id)
    return survey.earlier_id


def answer_columns(answers: Answers) -> dict[str, Any]:
    """The response's columns that hold the citizen's answers."""
    choices = answers.choices
    return {
        "timeliness": choices.get("timeliness"),
        "supplement_requests": choices.get("supplement_requests"),
        "staff_attitude": choices.get("staff_attitude"),
        "overall": choices.get("overall"),
        "agencies_contacted": choices.get("agencies_contacted"),
        "complaint": answers.complaint,
    }


def ensure_retry(
    session: Session,
    earlier: Response,
    given: Callable[[], Answers],
    given_at: datetime | None = None,
) -> None:
    """A submission id seen before is a retry only with the answers stored under it
    (`given`: the request's, checked), and carrying nothing they lack: a contact other
    than the one kept, or a wish for an answer to a comment. Anything else is another
    submission to an answered survey (409): a 200 told the client it was stored when it
    was dropped (audit; a retry adding the contact the first send lacked heard 200, and
    the agency never had it). A retry leaving the contact out drops nothing. `given_at`:
    the time an import gave (submitted_at), which a retry must repeat: a corrected one was
    answered 200 and dropped, the evaluation left in the month mistyped (scoring audit)."""
    if given_at is not None and given_at != earlier.received_at:
        raise AlreadyAnswered(
            "This survey was already answered under this client_submission_id, given at "
            f"{earlier.received_at.isoformat()}; a retry must send the same submitted_at. "
            "The other time was not stored: an evaluation's time is not corrected by a retry."
        )
    try:
        answers: Answers | None = given()
    except InvalidInput:  # what was stored passed the checks: these are other answers
        answers = None
    if answers is None or _would_drop(session, earlier, answers):
        raise AlreadyAnswered(
            "This survey was already answered under this client_submission_id, with other "
            "answers. A retry must send the same answers; they were not stored."
        )


def _would_drop(session: Session, earlier: Response, answers: Answers) -> bool:
    if any(getattr(earlier, name) != value for name, value in answer_columns(answers).items()):
        return True
    if answers.contact is not None:
        kept = session.exec(
            select(ResponseContact.contact).where(ResponseContact.response_id == earlier.id)
        ).first()
        if kept != answers.contact:
            return True
    if not (answers.complaint and answers.wants_reply):
        return False
    kind = session.exec(select(Petition.kind).where(Petition.response_id == earlier.id)).first()
    # None: the comment's item was removed since (a purge): nothing to compare with.
    return kind is not None and kind != "petition"


@dataclass(frozen=True)
class Submission:
    """Where an answer comes from: its channel (`source`), the client's id for retries,
    and when it was given (an import's or a tablet's time; else now). `judged_at`: when
    the survey's state is judged, if not then (a form shown before the expiry:
    form_judged_at)."""

    source: str
    client_submission_id: str | None = None
    received_at: datetime | None = None
    judged_at: datetime | None = None

    @property
    def judged(self) -> datetime | None:
        return self.judged_at or self.received_at


def submit(
    session: Session,
    found: Issued | Survey,
    answers: Answers,
    profile: Profile,
    how: Submission,
) -> Submitted:
    """Store the one response of an invitation. Safe to retry with the same submission id
    (a `Survey` must then have been found with it: `find_invitation`)."""
    if isinstance(found, Issued):  # found through the ORM (the kiosk's presenting)
        earlier = replay_or_ensure_answerable(session, found, how.client_submission_id, how.judged)
        if earlier is not None:
            ensure_retry(session, earlier, lambda: answers)
            return Submitted(Row(earlier.model_dump()), created=False)
        return store(session, Survey.of(session, found), answers, profile, how)
    earlier_id = earlier_submission(found, how.judged)
    if earlier_id is not None:
        replayed = session.get(Response, earlier_id)
        assert replayed is not None
        ensure_retry(session, replayed, lambda: answers)
        return Submitted(Row(replayed.model_dump()), created=False)
    return store(session, found, answers, profile, how)


def store(
    session: Session, survey: Survey, answers: Answers, profile: Profile, how: Submission
) -> Submitted:
    """`submit` once the survey is found answerable and no earlier submission stored."""
    client_submission_id, received_at = how.client_submission_id, how.received_at
    invitation, dossier = survey.invitation, survey.dossier
    now = utcnow()
    row = {
        "invitation_id": invitation.id,
        "agency_id": dossier.agency_id,
        "client_submission_id": client_submission_id,
        "source": how.source,
        **answer_columns(answers),
        "language": answers.language,
        "received_at": received_at or now,
        "received_day": local_date(received_at or now),
    }
    db.check_row(Response, row)
    claimed = _claim_and_insert(session, row, now, dossier.id, invitation.token_hash)
    if claimed is None:
        return _after_lost_race(session, survey, client_submission_id, answers)
    response_id, dossier_changed_at = claimed
    if dossier_changed_at is not None and dossier_changed_at != dossier.updated_at:
        # Posted again (new facts: another returning officer, another day) while this
        # answer waited for its claim: its counters are those of the dossier as it is now.
        dossier = survey.dossier = lookup.dossier_row(session, dossier.id)
    invitation.status, invitation.answered_at = "answered", now
    response = Row({"id": response_id, **row})
    # The scoring rules read a Response and a Dossier: these rows have their columns.
    stored, facts = cast(Response, response), cast(Dossier, dossier)
    events.record_change(session, Delta(), response_delta(stored, facts, profile))
    if is_unsatisfied(stored, profile):
        _mark_unsatisfied(session, dossier, profile)
    payload = payloads.response_submitted(stored, dossier.code, survey.agency_code)
    event = outbox.event_row("response.submitted", response.agency_id, payload, now)
    outbox.emit_row(session, event)
    if answers.contact is not None:
        session.add(ResponseContact(response_id=response.id, contact=answers.contact))
    petition = None
    if answers.complaint:
        petition = open_from_complaint(
            session,
            stored,
            _mapped_dossier(session, dossier),
            profile,
            wants_reply=answers.wants_reply,
            has_contact=answers.contact is not None,
        )
    if answers.contact is not None or petition is not None:
        session.flush()
    return Submitted(response, created=True, petition=petition)


class _Rows:
    """Rows for one statement, gathered over a transaction (db.gathered): the answers of a
    batch (write_pipeline.py) send their events and updates as one executemany each, with
    the COMMIT, rather than one statement per answer."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, other: _Rows) -> None:
        self.rows.extend(other.rows)


def _with_commit(
    session: Session, key: str, statement: Callable[[], Executable], row: dict[str, Any]
) -> None:
    """`row` for `statement()`, written with the transaction's COMMIT (db.at_commit), with
    the other rows for it."""

    def write(session: Session, gathered: _Rows) -> None:
        db.at_commit(session, statement(), gathered.rows)

    db.gathered(session, f"hailong.surveys.{key}", _Rows, write).rows.append(row)


def _mark_unsatisfied(session: Session, dossier: Row, profile: Profile) -> None:
    """What events.mark_dossier(unsatisfied=True) does to a mapped dossier, for the row: its
    counters move as the flag changes, and the flag is written with the COMMIT."""
    before = dossier_delta(cast(Dossier, dossier), profile)
    dossier.has_unsatisfied_evaluation = True
    events.record_change(session, before, dossier_delta(cast(Dossier, dossier), profile))
    _with_commit(session, "unsatisfied", _unsatisfied_statement, {"dossier_id": dossier.id})


def _mapped_dossier(session: Session, dossier: Row) -> Dossier:
    """The dossier as a mapped object, for a comment's petition (it may flag the dossier
    through the ORM), with what this answer changed already."""
    mapped = session.get(Dossier, dossier.id)
    assert mapped is not None
    if dossier.has_unsatisfied_evaluation and not mapped.has_unsatisfied_evaluation:
        # Written with the COMMIT (_mark_unsatisfied), not by this object's flush.
        set_committed_value(mapped, "has_unsatisfied_evaluation", True)
    return mapped


def _claim_and_insert(
    session: Session, row: dict[str, Any], now: datetime, dossier_id: int, token_hash: str
) -> tuple[int, datetime | None] | None:
    """Mark the invitation answered and store the response: its id, and (PostgreSQL) when
    the dossier was last changed, as it is once the claim holds. None, storing nothing,
    when another submission (or a revocation) got there first: the invitation's row lock
    decides between simultaneous ones, the later one waiting for the first to commit and
    then finding it answered. No error is raised, so that a transaction shared with other
    answers (write_pipeline.py) goes on.

    PostgreSQL does both in one statement (the claim a data-modifying WITH, the INSERT
    reading its row): a statement fewer on every answer. A re-post of the dossier locks the
    invitation, then the dossier (handovers/one_by_one.py): an answer whose claim waited
    for one would count the facts it read before; the statement also takes the dossier's
    row FOR SHARE, which returns it as the re-post left it. SQLite has no UPDATE inside
    WITH, and one writer at a time: there they are two statements, one after the other.

    The claim is also on the token the answer came with (`token_hash`, as looked up): a
    survey revoked and issued again between the lookup and the claim is the same row with a
    new token, and the old link's answer was stored on it, the new link then answered 409
    (audit). Then nothing is claimed, and _after_lost_race says the link was withdrawn."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # The response's values under names of their own (_claimed_response): a parameter
        # named as a column of the invitation is one the UPDATE sets ("language" set the
        # invitation's to the answer's). Likewise "answered_dossier", not "dossier_id".
        params = {f"{RESPONSE_VALUE}{name}": value for name, value in row.items()}
        params |= {
            "invitation_id": row["invitation_id"],  # the claim's WHERE
            "now": now,
            "answered_dossier": dossier_id,
            "claimed_token": token_hash,
        }
        found = connection.execute(_claimed_response(), params).first()
        return (found[0], found[1]) if found is not None else None
    claim = {"invitation_id": row["invitation_id"], "now": now, "claimed_token": token_hash}
    if connection.execute(_claim_statement(), claim).rowcount != 1:
        return None
    stored: int = connection.execute(_insert_response(), row).scalar_one()
    return stored, None


def _answerable(status: Any) -> Any:
    # Two comparisons, not IN (...): SQLAlchemy renders an IN of literals again on every
    # execution (3 % of the answer path's interpreter time under load, py-spy).
    return or_(*(status == state for state in _ANSWERABLE))


@lru_cache(maxsize=1)
def _claim_statement() -> Update:
    table = Invitation.__table__  # type: ignore[attr-defined]
    return (
        update(table)
        .where(
            table.c.id == bindparam("invitation_id"),
            # Not "token_hash": a column of the invitation, which the UPDATE would then set.
            table.c.token_hash == bindparam("claimed_token"),
            _answerable(table.c.status),
        )
        .values(status="answered", answered_at=bindparam("now"))
    )


# The prefix of the response's values in _claimed_response's parameters.
RESPONSE_VALUE = "response_"


@lru_cache(maxsize=1)
def _claimed_response() -> Insert:
    """The claim and the response's INSERT in one statement, for PostgreSQL: the response
    is inserted from the claimed invitation's row, so not at all when none was claimed;
    with it, the dossier's updated_at, read FOR SHARE once the claim holds."""
    response = Response.__table__  # type: ignore[attr-defined]
    dossier = Dossier.__table__  # type: ignore[attr-defined]
    claimed = _claim_statement().returning(Invitation.__table__.c.id).cte("claimed")  # type: ignore[attr-defined]
    names = [c.name for c in written_columns(response) if c.name != "id"]
    values = [
        claimed.c.id
        if name == "invitation_id"
        else bindparam(f"{RESPONSE_VALUE}{name}", type_=response.c[name].type)
        for name in names
    ]
    # From the claimed row: taken after the claim, so in the same order as a re-post.
    current = (
        select(dossier.c.updated_at)
        .select_from(claimed)
        .join(dossier, dossier.c.id == bindparam("answered_dossier"))
        .with_for_update(read=True, of=dossier)
        .cte("current_dossier")
    )
    return (
        insert(response)
        .from_select(names, select(*values).select_from(claimed))
        .returning(response.c.id, select(current.c.updated_at).scalar_subquery())
    )


@lru_cache(maxsize=1)
def _open_statement() -> Update:
    table = Invitation.__table__  # type: ignore[attr-defined]
    return (
        update(table)
        .where(table.c.id == bindparam("invitation_id"), table.c.status == "issued")
        .values(status="opened", opened_at=bindparam("now"))
    )


@lru_cache(maxsize=1)
def _unsatisfied_statement() -> Update:
    table = Dossier.__table__  # type: ignore[attr-defined]
    return (
        update(table)
        .where(table.c.id == bindparam("dossier_id"))
        .values(has_unsatisfied_evaluation=True)
    )


@lru_cache(maxsize=1)
def _insert_response() -> Insert:
    table = Response.__table__  # type: ignore[attr-defined]
    return insert(table).returning(table.c.id)


def petition_of(session: Session, response_id: int) -> Petition | None:
    """The comment a response left, if any."""
    found = session.connection().execute(_petition_id(), {"response_id": response_id}).first()
    return session.get(Petition, found[0]) if found is not None else None


@lru_cache(maxsize=1)
def _petition_id() -> Select[tuple[int]]:
    table = Petition.__table__  # type: ignore[attr-defined]
    return select(table.c.id).where(table.c.response_id == bindparam("response_id")).limit(1)


def _after_lost_race(
    session: Session, survey: Survey, client_submission_id: str | None, answers: Answers
) -> Submitted:
    """The claim lost to another submission (or a revocation) committed after the lookup.
    The survey then names the answer that won (its id and source), as a lookup now would:
    what refuses this one reads it as for a survey found answered. The phone's 409 page
    links back to the thank-you page of an answer given on the phone; a double tap showed
    the second reply, the one the browser keeps, without it: the complaint's follow-up
    link lost (audit)."""
    winner = session.exec(
        select(Response).where(Response.invitation_id == survey.invitation.id)
    ).first()
    if winner is None:  # withdrawn by the office meanwhile
        raise Revoked("This survey link was withdrawn by the office.")
    survey.answer_id, survey.answer_source = winner.id, winner.source
    if client_submission_id is not None and winner.client_submission_id == client_submission_id:
        ensure_retry(session, winner, lambda: answers)
        return Submitted(Row(winner.model_dump()), created=False)
    raise AlreadyAnswered("This survey has already been answered. Thank you!")


def status_error_kind(exc: ServiceError) -> str:
    """Which friendly page a survey error becomes."""
    return {
        AlreadyAnswered: "answered",
        Revoked: "revoked",
        Expired: "expired",
        NotFound: "unknown",
    }.get(type(exc), "unknown")
