"""Issuing one handover's survey in a transaction of its own: a new dossier with its
invitation, or a dossier posted before with its facts updated (and a fresh link if its
survey had been revoked).

batching.py writes the plain new dossiers; everything it hands back is written here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from service import db
from service.audit import record
from service.auth.principal import Principal
from service.calendar.overrides import calendar_for_lateness
from service.errors import field_error
from service.handovers import new_dossiers, registry, tokens
from service.handovers.invitations import Issued
from service.handovers.schemas import HandoverCreate
from service.messaging import outbox as messages
from service.messaging import reposts
from service.models import Agency, Counter, Dossier, Invitation, Response, Staff, utcnow
from service.profile import Profile
from service.scoring import events
from service.settings import Settings
from service.webhooks import outbox, payloads

ATTEMPTS = 3


def check_times(payload: HandoverCreate) -> None:
    if payload.received_at and payload.resolved_at < payload.received_at:
        raise field_error("resolved_at", "is before received_at; check both times")
    if payload.received_at and payload.due_at and payload.due_at < payload.received_at:
        raise field_error("due_at", "is before received_at; check both times")
    # An imported past survey expires from its handover: one "in 2099" stayed open (audit).
    if payload.handed_over_at and payload.handed_over_at < payload.resolved_at:
        raise field_error("handed_over_at", "is before resolved_at; check both times")


def issue(
    session: Session,
    principal: Principal,
    payload: HandoverCreate,
    settings: Settings,
    profile: Profile,
) -> Issued:
    """Create the dossier and its invitation, or update the facts of a known dossier.

    A concurrent post of the same dossier (or a short-code collision) surfaces as a unique
    violation; the transaction is rolled back and the work redone, which then finds the row.
    """
    check_times(payload)
    for attempt in range(ATTEMPTS):
        try:
            known = _known_in_scope(session, principal, payload)
            if known.dossier_id is not None:
                return _update_known(session, principal, payload, settings, profile, known)
            return _create(session, payload, settings, profile, known)
        except IntegrityError:
            session.rollback()
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _known_in_scope(
    session: Session, principal: Principal, payload: HandoverCreate
) -> registry.Known:
    known = registry.lookup(session, payload)
    if known is None:
        raise field_error(
            "agency_code", f"no agency has the code '{payload.agency_code}'; register it first"
        )
    principal.require_scope(known.agency)
    return known


def _create(
    session: Session,
    payload: HandoverCreate,
    settings: Settings,
    profile: Profile,
    known: registry.Known,
) -> Issued:
    """A new dossier, one by one: register the staff and counter it names for the first
    time, then write it as the batch does."""
    agency = known.agency
    assert agency.id is not None
    staff_ids = registry.register_staff(
        session, agency.id, known.staff, registry.staff_codes(payload)
    )
    counter_id = known.counter_id
    if counter_id is None and payload.counter_code is not None:
        counter_id = registry.register_counter(session, agency.id, payload.counter_code)
    new = new_dossiers.NewHandover(payload, agency, staff_ids, counter_id)
    (written,) = new_dossiers.write(session, [new], settings, profile)
    # Written with the COMMIT: these carry no ids and are not in the session.
    invitation = {k: v for k, v in written.invitation.items() if not k.startswith("dossier_")}
    return Issued(Invitation(**invitation), Dossier(**written.dossier), True, written.messages)


def _update_known(
    session: Session,
    principal: Principal,
    payload: HandoverCreate,
    settings: Settings,
    profile: Profile,
    known: registry.Known,
) -> Issued:
    """The dossier was posted before for this agency: same invitation, facts updated,
    counters moved. A revoked, unanswered invitation is replaced by a fresh one.

    The counters move by (after - before), so "before" must be what the rows hold when this
    transaction commits: the invitation and then the dossier are locked first (in that
    order, as an answer's claim takes the invitation before it writes the dossier's flag)
    and read afresh. Two re-posts of one dossier at once both took "before" from the same
    row, and the first's move was never undone: resolved_dossiers -1 in one month, a
    phantom in another (audit). An answer committed meanwhile is seen, and moved too.

    A late one takes the calendar's lock before those rows, in the order a calendar change
    takes them (scoring/calendar_days.py): taken after, the two deadlocked, and the
    change, not redone, failed (review)."""
    calendar = cache(lambda: calendar_for_lateness(session))
    # Without due_at the stored one counts, unknown until the rows are locked: the lock
    # is taken first, as for a late one.
    if "due_at" not in payload.model_fields_set or events.is_late(
        payload.resolved_at, payload.due_at
    ):
        calendar()
    invitation = session.exec(
        db.for_update(select(Invitation).where(Invitation.dossier_id == known.dossier_id))
    ).one()
    dossier = session.exec(
        db.for_update(select(Dossier).where(Dossier.id == known.dossier_id))
    ).one()
    assert dossier.agency_id == known.agency.id
    response = events.response_of(session, dossier)
    before = events.dossier_footprint(session, dossier, profile, response)
    counter_before = dossier.counter_id
    changed = _apply_facts(session, dossier, known.agency, payload, calendar)
    session.add(dossier)
    if changed:
        _record_facts_change(session, principal, known.agency, dossier, changed, response)
    if counter_before not in (None, dossier.counter_id) and invitation.status != "answered":
        # Shown at that counter's tablet, which may hold the citizen's answer in its outbox:
        # posted again without its counter, the answer was refused for good (kiosk audit).
        registry.record_presentation(session, counter_before, cast(int, invitation.id))
    events.record_change(
        session, before, events.dossier_footprint(session, dossier, profile, response)
    )
    # Facts include the citizen's language: the slip and the survey speak it (a re-post
    # naming "en" was a 200 that changed nothing; audit). Not sent, it stays; answered, the
    # survey is done with.
    if "language" in payload.model_fields_set and invitation.status in ("issued", "opened"):
        invitation.language = payload.language
        session.add(invitation)
    # Posted again saying the citizen does not agree to messages: nothing more goes to the
    # address given before, the fresh link of a reissued survey included.
    withdrawn = payload.contact is not None and not payload.contact.consent
    if withdrawn:
        reposts.consent_withdrawn(session, invitation.id, invitation.status == "revoked")
    created = False
    if invitation.status == "revoked":
        _reissue(
            session, principal, invitation, dossier, known.agency, payload, settings, not withdrawn
        )
        created = True
    session.flush()
    # Posted again: no new messages (but a reissued survey's link is sent again, where
    # the first went or to the contact the re-post gives); the answer says what became of
    # them.
    known_messages = messages.messages_of(session, invitation.id, settings.signing_key())
    return Issued(invitation, dossier, created, known_messages)


# The facts a handover names as the dossier's columns do, kept when a re-post leaves them
# out (resolved_at is required); the staff and the counter are kept by their codes' absence.
PLAIN_FACTS = (
    "procedure_code",
    "procedure_name",
    "received_at",
    "due_at",
    "handed_over_at",
    "supplement_requests",
    "channel",
)
STAFF_ROLES = ("receiving", "handling", "returning")


def _apply_facts(
    session: Session,
    dossier: Dossier,
    agency: Agency,
    p: HandoverCreate,
    calendar: Callable[[], Mapping[date, bool]],
) -> dict[str, tuple[Any, Any]]:
    """A known dossier's facts as posted again: the staff and counter it names (registered
    when new), and what the scores derive from them (`calendar`: for a late one). What the
    re-post leaves out stays as stored; a fact sent as null is cleared (a petition's update
    and the language go the same way). A re-post with only the required fields, which the
    typed client's "safe to repeat" issue_survey sends, erased the due time: a dossier ten
    working days late became on time, and the agency's A rose (contract audit). Returns
    the facts that changed, as (before, after)."""
    assert agency.id is not None
    sent = p.model_fields_set
    kept = {name: getattr(dossier, name) for name in PLAIN_FACTS if name not in sent}
    merged = p.model_copy(update=kept)
    check_times(merged)  # the times sent against those kept (review)
    staff = p.staff
    ids = registry.staff_ids(session, agency.id, [staff.receiving, staff.handling, staff.returning])
    counter_id = registry.counter_id(session, agency.id, p.counter_code)
    facts = new_dossiers.facts(merged, ids, counter_id, calendar)
    staff_sent = staff.model_fields_set if "staff" in sent else set()
    links = [(f"{role}_staff_id", role in staff_sent) for role in STAFF_ROLES]
    for column, given in [*links, ("counter_id", "counter_code" in sent)]:
        if not given:
            facts[column] = getattr(dossier, column)
    changed = {}
    for name, value in facts.items():
        if getattr(dossier, name) != value:
            changed[name] = (getattr(dossier, name), value)
        setattr(dossier, name, value)
    dossier.updated_at = utcnow()
    return changed


def _record_facts_change(
    session: Session,
    principal: Principal,
    agency: Agency,
    dossier: Dossier,
    changed: Mapping[str, tuple[Any, Any]],
    response: Response | None,
) -> None:
    """A re-post that changes a dossier's facts leaves a trail: its due time or resolution
    moved after the fact changes whether it was late, and so the agency's score. Posted
    again unchanged (a retry), nothing is written; `answered` says whether the citizen's
    evaluation was already counted with the old facts."""
    before = {_fact_name(name): _shown(session, name, old) for name, (old, _) in changed.items()}
    after = {_fact_name(name): _shown(session, name, new) for name, (_, new) in changed.items()}
    detail = {"from": before, "to": after, "answered": response is not None}
    record(
        session, principal.actor, "dossier.update", f"dossier:{agency.code}:{dossier.code}", detail
    )


def _fact_name(column: str) -> str:
    """Staff and counter as the handover names them (by code), not as stored (by id)."""
    if column.endswith("_staff_id"):
        return f"staff.{column.removesuffix('_staff_id')}"
    return column.removesuffix("_id")


def _shown(session: Session, column: str, value: Any) -> Any:
    """A fact as JSON an auditor reads: times in ISO 8601 (UTC), staff and counters by code."""
    if value is None:
        return None
    if isinstance(value, datetime):  # as stored: in UTC, whatever offset was posted
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if column.endswith("_staff_id"):
        staff = session.get(Staff, value)
        return staff.code if staff is not None else value
    if column == "counter_id":
        counter = session.get(Counter, value)
        return counter.code if counter is not None else value
    return value


def _reissue(
    session: Session,
    principal: Principal,
    invitation: Invitation,
    dossier: Dossier,
    agency: Agency,
    payload: HandoverCreate,
    settings: Settings,
    resend: bool,
) -> None:
    """A revoked survey posted again gets a fresh link: a new survey id, token and short
    code on the same invitation row (one per dossier). The old link stays dead: its token
    hash and short code are gone. Only an unanswered survey can have been revoked. The new
    link goes to the contact the re-post gives, if it gives another, else where the first
    went; nowhere when `resend` is False (consent withdrawn)."""
    now = utcnow()
    invitation.public_id = str(uuid.uuid4())
    invitation.token_seed = tokens.new_seed()
    invitation.token_hash = tokens.hash_token(
        tokens.token_from_seed(settings.signing_key(), invitation.token_seed)
    )
    invitation.short_code = tokens.new_short_code()
    if "language" in payload.model_fields_set:  # as a re-post's (_update_known)
        invitation.language = payload.language
    invitation.status = "issued"
    invitation.issued_at = now
    invitation.expires_at = now + timedelta(days=settings.invitation_ttl_days)
    invitation.opened_at = invitation.revoked_at = None
    session.add(invitation)
    record(
        session,
        principal.actor,
        "invitation.reissue",
        f"dossier:{agency.code}:{dossier.code}",
        {"survey_id": invitation.public_id},
    )
    data = payloads.invitation_issued(
        invitation.public_id, dossier.code, agency.code, now, invitation.expires_at
    )
    outbox.emit(session, "invitation.issued", dossier.agency_id, data)
    if resend:
        assert invitation.id is not None
        reposts.reissued(session, settings, invitation.id, dossier.agency_id, payload.contact, now)
