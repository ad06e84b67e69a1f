"""Petitions (phản ánh kiến nghị): opened from survey complaints, imported later."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from service import db
from service.admin.agencies import get_agency_by_code
from service.audit import record
from service.auth.principal import Principal
from service.calendar.overrides import load_overrides
from service.calendar.working_days import add_working_days, local_date
from service.errors import Conflict, Forbidden, field_error
from service.handovers import tokens
from service.models import Agency, Dossier, Petition, Response, utcnow
from service.models.agency import path_within
from service.models.petition import SURVEY_COMMENT_PREFIX
from service.models.petition_dossier import dossier_code
from service.petitions.schemas import PetitionPublic, PetitionUpsert
from service.profile import Profile
from service.scoring import events
from service.scoring.contributions import counts_in_group5
from service.scoring.inputs import is_competent
from service.webhooks import outbox, payloads


def open_from_complaint(
    session: Session,
    response: Response,
    dossier: Dossier,
    profile: Profile,
    *,
    wants_reply: bool,
    has_contact: bool,
) -> Petition:
    """A survey or kiosk comment becomes an item of the agency's feedback inbox.

    It is not a national-channel petition: it counts in group 5 (and marks the dossier) only
    where the profile says so (contributions.counts_in_group5). Only a comment the citizen
    wants answered (a "phản ánh") gets a handling deadline; one that asks for an answer or
    leaves a contact gets the citizen's private follow-up link.
    """
    assert response.id is not None
    deadline = None
    if wants_reply:
        deadline = add_working_days(
            response.received_at,
            profile.petitions.handling_deadline_working_days,
            load_overrides(session),
        )
    petition = Petition(
        code=SURVEY_COMMENT_PREFIX + dossier.code,
        agency_id=dossier.agency_id,
        dossier_id=dossier.id,
        response_id=response.id,
        source="survey",
        kind="petition" if wants_reply else "comment",
        received_at=response.received_at,
        received_day=response.received_day,
        deadline_at=deadline,
        deadline_defaulted=deadline is not None,
        # The follow-up link's seed; its hash is set where the link is first shown
        # (followup.issue), which holds the signing key.
        followup_seed=tokens.new_seed() if wants_reply or has_contact else None,
    )
    session.add(petition)
    session.flush()
    events.petition_changed(session, None, petition, profile)
    if counts_in_group5(petition, profile):
        events.mark_dossier(session, dossier, profile, petition=True)
    outbox.emit(
        session, "petition.created", petition.agency_id, payloads.petition_event(session, petition)
    )
    return petition


def upsert(
    session: Session,
    principal: Principal,
    payload: PetitionUpsert,
    profile: Profile,
    *,
    audited: bool = True,
) -> tuple[Petition, bool]:
    """Import a petition, or update the one with this code. Returns (petition, created).
    `audited`: False for a bulk import's rows, whose run is audited as a whole."""
    agency = get_agency_by_code(session, payload.agency_code)
    if agency is None:
        raise field_error("agency_code", f"no agency has the code '{payload.agency_code}'")
    principal.require_scope(agency)
    if not may_import(principal, agency):
        raise Forbidden(
            f"Petitions of agency '{agency.code}' are imported by the national petition "
            "system's connector (an issuer key not limited to this agency: unscoped, or "
            "scoped to an agency above it) or by the competent authority (an admin or a "
            "manager of an agency above it). They make its group-5 score, and so D: the "
            "agency's own key answers them in the console, it does not import them. Send "
            "the petition with the connector's key, or ask the competent authority to."
        )
    assert agency.id is not None
    if payload.dossier_code == "":
        # Neither "keep" (the field left out) nor "detach" (null): which was meant?
        raise field_error(
            "dossier_code",
            "is empty: leave the field out to keep the petition's dossier, or send null "
            "to detach the petition from it",
        )
    dossier = None
    if payload.dossier_code:
        # Only a dossier of the petition's agency or its descendants (all within the key's
        # scope, since the agency is): a code used elsewhere reads as unknown, so that the
        # answer tells nothing about other agencies' dossiers.
        found = session.exec(
            select(Dossier)
            .join(Agency, col(Agency.id) == col(Dossier.agency_id))
            .where(
                Dossier.code == payload.dossier_code,
                path_within(col(Agency.path), agency.path),
            )
            .limit(2)
        ).all()
        if not found:
            raise field_error(
                "dossier_code",
                f"no dossier of agency '{agency.code}' or its sub-agencies has the code "
                f"'{payload.dossier_code}'",
            )
        if len(found) > 1:
            raise field_error(
                "dossier_code",
                f"several agencies under '{agency.code}' have a dossier '{payload.dossier_code}'; "
                "send the petition with the agency_code of the dossier's own agency",
            )
        dossier = found[0]
    # Petition codes are unique per agency: another agency's petition with this code is a
    # different petition, never this one. Locked and read afresh, as the console's reply
    # and the citizen's verdict lock it: an update sent twice at once took "before" from
    # the same row and moved the counters twice (petitions_open -1; audit).
    petition = session.exec(
        db.for_update(
            select(Petition).where(
                Petition.agency_id == agency.id, Petition.code == payload.petition_code
            )
        )
    ).first()
    named = dossier.id if dossier else None
    _lock_dossiers(session, named, petition.dossier_id if petition else None)
    _check_survey_comment(payload, petition, dossier)
    before = events.snapshot(petition) if petition else None
    petition = petition or Petition(
        code=payload.petition_code,
        agency_id=agency.id,
        source="import",
        received_at=payload.received_at,
        received_day=local_date(payload.received_at),
    )
    # An update changes what it sends and nothing else: a later import without handled_at
    # or citizen_verdict must not wipe a reply given in the console or a verdict given on
    # the citizen's follow-up page.
    sent = payload.model_fields_set if before is not None else set(type(payload).model_fields)
    previous_dossier_id = petition.dossier_id
    # dossier_code sent as null detaches the petition: one given the wrong dossier kept it,
    # and that dossier stayed "bad" in rate c for good (audit).
    if dossier is not None or "dossier_code" in sent:
        petition.dossier_id = dossier.id if dossier else None
    # A survey comment was received when the citizen answered: that time stays.
    received_at = petition.received_at if petition.source == "survey" else payload.received_at
    days = profile.petitions.handling_deadline_working_days
    # A deadline the default gave moves with a corrected receipt; one the national system
    # gave stays (audit: corrected by an hour, a deadline of 19/9 became the default's
    # 7/10, and a petition handled six days late counted as on time). Which it was is
    # stored: told by equality with the default recomputed, a default was taken for the
    # national system's once a day off was declared within it (audit).
    defaulted_deadline_moves = (
        before is not None
        and petition.received_at != received_at
        and petition.deadline_at is not None
        and petition.deadline_defaulted
    )
    # The times as they will stand, those kept included: a later receipt sent alone left a
    # stored handling before it, counted as handled on time (audit).
    kept = {"handled_at", "deadline_at"} - sent
    if defaulted_deadline_moves:
        kept.discard("deadline_at")  # made again from the new receipt below
    _check_times(
        received_at,
        {name: getattr(petition if name in kept else payload, name) for name in TIMES_AFTER},
        kept,
    )
    petition.received_at = received_at
    petition.received_day = local_date(received_at)
    if petition.kind == "comment":
        # A comment the citizen wants no answer to gets no default deadline: an update's
        # gave it one, and the console and follow-up page showed it due (audit). One the
        # national system sends is its own, as for any petition.
        if "deadline_at" in sent:
            petition.deadline_at, petition.deadline_defaulted = payload.deadline_at, False
    elif "deadline_at" in sent or defaulted_deadline_moves or petition.deadline_at is None:
        # Told with the calendar of now, and kept when a day off is declared later (as a
        # deadline told to the citizen): no need to wait for a calendar change. A re-send
        # with null (an unset property, as Jackson or Go write it) asks for the default: one
        # the petition has already, of the same receipt, stays as it was told; made again
        # from today's calendar, a day off declared since moved it (scoring audit).
        default_kept = (
            payload.deadline_at is None
            and petition.deadline_defaulted
            and petition.deadline_at is not None
            and not defaulted_deadline_moves
        )
        if not default_kept:
            petition.deadline_at = payload.deadline_at or add_working_days(
                received_at, days, load_overrides(session)
            )
            petition.deadline_defaulted = payload.deadline_at is None
    _check_verdict_follows_handling(payload, petition, sent)
    for name in (
        "handled_at",
        "citizen_verdict",
        "result_complaint",
        "within_authority",
        "outcome",
    ):
        if name in sent:
            setattr(petition, name, getattr(payload, name))
    # A re-send that changes nothing (a connector's retry, a daily re-sync) is no update:
    # it told subscribers "petition.updated" every time, and its fresh updated_at kept an
    # old outcome's text from the retention purge for good (audit). Compared with the
    # snapshot, not the session's history: a query above (the calendar) autoflushes.
    if before is not None and petition.model_dump() == before.model_dump():
        return petition, False
    petition.updated_at = utcnow()
    session.add(petition)
    session.flush()
    events.petition_changed(session, before, petition, profile)
    if dossier is not None and not dossier.has_petition and counts_in_group5(petition, profile):
        events.mark_dossier(session, dossier, profile, petition=True)
    if previous_dossier_id is not None and previous_dossier_id != petition.dossier_id:
        released = session.get(Dossier, previous_dossier_id)  # locked above
        if released is not None:
            events.refresh_petition_flag(session, released, profile)
    kind = "petition.created" if before is None else "petition.updated"
    outbox.emit(session, kind, petition.agency_id, payloads.petition_event(session, petition))
    if audited:
        _audit_import(session, principal, agency, before, petition)
    return petition, before is None


def may_import(principal: Principal, agency: Agency) -> bool:
    """Who may import or update a petition of `agency`: the competent authority
    (is_competent), or an issuer key (the national petition system's connector) placed in
    the tree as the competent authority must be: unscoped, or scoped strictly above the
    agency. A key of the agency's own, issuer or not, never: with it a ward backdated its
    own late petitions' handling, rate a and so D up (audit; DESIGN: D is never the
    agency's own)."""
    if principal.role == "issuer":
        return principal.placed_above(agency)
    return is_competent(principal, agency)


def _check_verdict_follows_handling(
    payload: PetitionUpsert, petition: Petition, sent: set[str]
) -> None:
    """The citizen judges the handling, once, after it (DESIGN): a petition as it will
    stand, fields kept included, has no verdict without a handling time. Stored, the
    agency's console reply was refused for good as already judged (ReplyJudged), and the
    petition could only turn late (audit)."""
    verdict = payload.citizen_verdict if "citizen_verdict" in sent else petition.citizen_verdict
    handled = payload.handled_at if "handled_at" in sent else petition.handled_at
    if verdict is None or handled is not None:
        return
    if "citizen_verdict" in sent:
        raise field_error(
            "citizen_verdict",
            "needs handled_at: the citizen judges the handling, after it; send handled_at "
            "with the verdict, or leave the verdict out until the petition is handled",
        )
    raise field_error(
        "handled_at",
        f"cannot be cleared: the citizen has judged the handling ({verdict}); send "
        "citizen_verdict null with it if that verdict was recorded by mistake",
    )


def _lock_dossiers(session: Session, *ids: int | None) -> None:
    """Lock the dossiers whose group-5 flags an import may move (the one it names, the one
    it takes the petition from) and read them afresh: mark_dossier and
    refresh_petition_flag move the counters from the flags as read, and an answer or
    another import committed meanwhile had the dossier counted bad twice (a
    dossiers_satisfied_rate of -1.0; audit). After the petition's row, and in the order of
    their ids, so that imports moving petitions between the same dossiers wait for one
    another rather than deadlock."""
    wanted = sorted({id_ for id_ in ids if id_ is not None})
    if wanted:
        locked = select(Dossier).where(col(Dossier.id).in_(wanted)).order_by(col(Dossier.id))
        session.exec(db.for_update(locked)).all()


# What a petition's import may change that group 5 (and so D) reads.
_AUDITED = (
    "dossier_id",
    "received_at",
    "deadline_at",
    "handled_at",
    "citizen_verdict",
    "result_complaint",
    "within_authority",
)


def _audit_import(
    session: Session,
    principal: Principal,
    agency: Agency,
    before: Petition | None,
    petition: Petition,
) -> None:
    """Who imported a petition, or changed what the score reads of one: a key's import
    moves group 5 and so D, which officials' rankings rest on (ops audit). An update that
    changes none of it is not recorded."""
    changes = {
        name: [_plain(getattr(before, name)) if before else None, _plain(getattr(petition, name))]
        for name in _AUDITED
        if before is None or getattr(before, name) != getattr(petition, name)
    }
    if before is not None and not changes:
        return
    action = "petition.import" if before is None else "petition.update"
    detail = {"agency": agency.code, "changes": changes}
    record(session, principal.actor, action, f"petition:{petition.code}", detail)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# A petition's times that cannot come before its receipt. A deadline before it is a typing
# error (1900 for 2025): the petition would be late before it was received.
TIMES_AFTER = ("handled_at", "deadline_at")


def _check_times(received_at: datetime, times: dict[str, datetime | None], kept: set[str]) -> None:
    """Against the petition's receipt as it stays (a survey comment's own, not the time an
    import sends for it), each time as it will stand: sent, or `kept` from the stored row."""
    for name, value in times.items():
        if value is None or value >= received_at:
            continue
        if name in kept:
            raise field_error(
                "received_at",
                f"is after the petition's recorded {name} ({value.isoformat()}); "
                f"send {name} with it if that changed too",
            )
        raise field_error(name, "is before received_at; check both times")


def _check_survey_comment(
    payload: PetitionUpsert, petition: Petition | None, dossier: Dossier | None
) -> None:
    """A citizen's survey comment is stored under 'HL-' + its dossier's code. An import may
    record its handling, but not create one (sent before the citizen answered, it made
    every answer with a comment a 409 at every try), nor give the citizen's verdict for
    them (a forged "satisfied"; audit), nor move it to another dossier (the citizen's
    follow-up page showed another citizen's dossier code, and under a profile counting
    comments that dossier turned bad in rate c; audit). Its received time stays when the
    citizen answered (an import had moved it into another period)."""
    if petition is None:
        if payload.petition_code.startswith(SURVEY_COMMENT_PREFIX):
            raise field_error(
                "petition_code",
                f"codes starting with '{SURVEY_COMMENT_PREFIX}' are hailong's own (a "
                "citizen's survey comment); import the petition under the national "
                "system's code",
            )
        return
    if petition.source != "survey":
        return
    if "dossier_code" in payload.model_fields_set and (
        dossier is None or dossier.id != petition.dossier_id
    ):
        raise field_error(
            "dossier_code", "of a survey comment is the dossier the citizen evaluated"
        )
    given = payload.citizen_verdict
    if "citizen_verdict" in payload.model_fields_set and given != petition.citizen_verdict:
        raise field_error(
            "citizen_verdict",
            "of a survey comment is the citizen's own, given on their follow-up page",
        )
    # Nor the handling the citizen judged: cleared, the petition was open again within its
    # deadline, out of rates a and b, and the "unsatisfied" with it (group 5 audit), as the
    # console's reply is fixed once judged (ReplyJudged).
    handled = payload.handled_at
    if (
        petition.citizen_verdict is not None
        and "handled_at" in payload.model_fields_set
        and handled != petition.handled_at
    ):
        raise field_error(
            "handled_at",
            "of a survey comment the citizen has judged stays as it was when they judged it",
        )


REPLY_MAX_CHARS = 4000
VERDICTS = ("satisfied", "unsatisfied")
# A clock a few minutes fast on the manager's computer must not refuse a reply.
FUTURE_TOLERANCE = timedelta(minutes=10)


class ReplyJudged(Conflict):
    """The reply the citizen judged stays as it was (a 409 "conflict", as any)."""


class VerdictAlreadyGiven(Conflict):
    code = "verdict_already_given"


def _changed(session: Session, before: Petition, petition: Petition, profile: Profile) -> None:
    """Counters move from what the petition counted before to what it counts now."""
    petition.updated_at = utcnow()
    session.add(petition)
    session.flush()
    events.petition_changed(session, before, petition, profile)
    outbox.emit(
        session, "petition.updated", petition.agency_id, payloads.petition_event(session, petition)
    )


def handling_time_is_fixed(
    principal: Principal, petition: Petition, agency: Agency, profile: Profile
) -> bool:
    """Whether a reply by `principal` takes the handling time from the clock, not from the
    one replying: the agency's own reply to a petition its group 5 (and so D) counts, or
    to any with a deadline. A typed time let a ward turn its own late petition into one
    handled on time (console audit), and where survey feedback is in no score the
    citizen's page still read "answered on <the typed day> (on time)" of a reply written
    after the deadline (petitions audit). The competent authority above it may still
    record an earlier handling."""
    if is_competent(principal, agency):
        return False
    return petition.deadline_at is not None or counts_in_group5(petition, profile)


def reply_version(petition: Petition) -> str:
    """What a reply form was shown, in a few characters: the reply, when it was handled and
    when it was written. Two officials opened one petition; the second's save replaced the
    first's reply unseen, which the citizen may already have read (console audit). The
    form sends it back, and a save over a reply that changed meanwhile is refused."""
    handled = petition.handled_at.isoformat() if petition.handled_at else ""
    replied = petition.replied_at.isoformat() if petition.replied_at else ""
    shown = f"{petition.reply or ''}\x00{handled}\x00{replied}"
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


def record_reply(
    session: Session,
    principal: Principal,
    petition: Petition,
    reply: str,
    handled_at: datetime | None,
    profile: Profile,
) -> Petition:
    """The agency's answer and when the petition was handled (group 5 a and b read it):
    `handled_at` as given, or, where the time is fixed (handling_time_is_fixed), the
    handling already recorded, else now."""
    principal.require_role("manager", "admin")
    agency = session.get(Agency, petition.agency_id)
    assert agency is not None
    principal.require_scope(agency)
    if handling_time_is_fixed(principal, petition, agency, profile):
        handled_at = petition.handled_at or utcnow()
    elif handled_at is None:
        raise field_error("handled_at", "give the time the petition was handled")
    reply = reply.strip()
    if not reply:
        raise field_error("reply", "write the answer the citizen will read")
    if len(reply) > REPLY_MAX_CHARS:
        raise field_error("reply", f"keep it under {REPLY_MAX_CHARS} characters")
    if handled_at < petition.received_at:
        raise field_error("handled_at", "is before the petition was received")
    if handled_at > utcnow() + FUTURE_TOLERANCE:
        raise field_error("handled_at", "lies in the future; give the time it was handled")
    if petition.citizen_verdict is not None:
        raise ReplyJudged(
            "The citizen has already judged this handling; the reply stays as it was."
        )
    before = events.snapshot(petition)
    petition.reply, petition.handled_at = reply, handled_at
    petition.replied_at, petition.replied_by = utcnow(), principal.signature
    _changed(session, before, petition, profile)
    record(
        session,
        principal.actor,
        "petition.reply",
        f"petition:{petition.code}",
        {
            # Codes are an agency's own: two wards' PAKN-2025-001 are two petitions.
            "agency": agency.code,
            "handled_at": handled_at.isoformat(),
            "previous_handled_at": before.handled_at.isoformat() if before.handled_at else None,
            "on_time": petition.handled_on_time,
        },
    )
    return petition


def record_verdict(
    session: Session, petition: Petition, verdict: str, profile: Profile
) -> Petition:
    """The citizen's word on the handling, once, after the reply (group 5 rate b)."""
    if verdict not in VERDICTS:
        raise field_error("verdict", "choose satisfied or unsatisfied")
    if petition.handled_at is None:
        raise Conflict("The agency has not replied yet; the verdict comes after its reply.")
    if petition.citizen_verdict is not None:
        raise VerdictAlreadyGiven("The citizen has already judged the handling of this petition.")
    before = events.snapshot(petition)
    petition.citizen_verdict, petition.verdict_at = verdict, utcnow()
    _changed(session, before, petition, profile)
    agency = session.get(Agency, petition.agency_id)
    assert agency is not None
    detail = {"agency": agency.code, "verdict": verdict}
    record(session, "citizen", "petition.verdict", f"petition:{petition.code}", detail)
    return petition


def _in_utc(moment: datetime | None) -> datetime | None:
    """As stored and read back: a petition's times came back with the offset they were
    sent with when just set, in UTC when kept, so that one answer mixed the two and a
    client comparing strings saw a deadline change that was none (scoring audit)."""
    return moment.astimezone(UTC) if moment is not None else None


def public_view(session: Session, petition: Petition) -> PetitionPublic:
    agency = session.get(Agency, petition.agency_id)
    assert agency is not None
    return PetitionPublic(
        petition_code=petition.code,
        agency_code=agency.code,
        dossier_code=dossier_code(session, petition, agency),
        source=petition.source,
        received_at=_in_utc(petition.received_at),
        deadline_at=_in_utc(petition.deadline_at),
        handled_at=_in_utc(petition.handled_at),
        citizen_verdict=petition.citizen_verdict,
        result_complaint=petition.result_complaint,
        within_authority=petition.within_authority,
        handled_on_time=petition.handled_on_time,
    )
