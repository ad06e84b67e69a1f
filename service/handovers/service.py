"""Issuing a survey invitation when a dossier's result is handed over."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, bindparam, literal
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service.audit import record
from service.auth.principal import Principal
from service.calendar.overrides import load_overrides
from service.errors import Conflict, NotFound, field_error
from service.handovers import new_dossiers, tokens
from service.handovers.schemas import HandoverCreate, HandoverPublic, InvitationStatus
from service.messaging import outbox as messages
from service.messaging.schemas import MessagePublic
from service.models import Agency, Counter, Dossier, Invitation, Staff, utcnow
from service.profile import Profile
from service.scoring import events
from service.settings import Settings
from service.webhooks import outbox, payloads

# A clock a few minutes fast on the one-stop server must not turn a handover away.
FUTURE_TOLERANCE = timedelta(hours=1)
ATTEMPTS = 3
# The roles that may issue and revoke.
ISSUERS = ("issuer", "admin")


@dataclass
class Issued:
    invitation: Invitation
    dossier: Dossier
    created: bool
    messages: list[MessagePublic] = field(default_factory=list)


def check_times(payload: HandoverCreate) -> None:
    if payload.resolved_at > utcnow() + FUTURE_TOLERANCE:
        raise field_error("resolved_at", "lies in the future; send the actual resolution time")
    if payload.received_at and payload.resolved_at < payload.received_at:
        raise field_error("resolved_at", "is before received_at; check both times")
    if payload.received_at and payload.due_at and payload.due_at < payload.received_at:
        raise field_error("due_at", "is before received_at; check both times")


@dataclass
class _Known:
    """What one query tells about a handover: its agency, and the ids of the dossier, staff
    and counter it names (None: not there yet)."""

    agency: Agency
    dossier_id: int | None
    staff: dict[str, int]
    counter_id: int | None


def staff_codes(payload: HandoverCreate) -> list[str]:
    staff = payload.staff
    return sorted({c for c in (staff.receiving, staff.handling, staff.returning) if c})


@lru_cache(maxsize=8)
def _lookup_statement(staff_count: int, with_counter: bool) -> Any:
    """Built once per shape: building a SELECT and its cache key costs more than running it."""
    # A dossier code names a dossier of the agency it is posted for (codes are unique per
    # agency): another agency's dossier with the same code is never touched.
    dossier_id = select(Dossier.id).where(
        col(Dossier.agency_id) == col(Agency.id), Dossier.code == bindparam("dossier_code")
    )
    staff_ids = [
        select(Staff.id)
        .where(col(Staff.agency_id) == col(Agency.id), Staff.code == bindparam(f"staff_{i}"))
        .scalar_subquery()
        for i in range(staff_count)
    ]
    counter_id = (
        select(Counter.id)
        .where(col(Counter.agency_id) == col(Agency.id), Counter.code == bindparam("counter_code"))
        .scalar_subquery()
        if with_counter
        else literal(None, Integer)
    )
    return select(Agency, dossier_id.scalar_subquery(), counter_id, *staff_ids).where(
        Agency.code == bindparam("agency_code")
    )


def _lookup(session: Session, payload: HandoverCreate) -> _Known | None:
    """The agency (None if unknown) and the ids the handover refers to, in one round trip:
    correlated subqueries beside the agency row, so the usual handover of known staff at a
    known counter reads nothing else."""
    codes = staff_codes(payload)
    params: dict[str, Any] = {
        "agency_code": payload.agency_code,
        "dossier_code": payload.dossier_code,
        "counter_code": payload.counter_code,
    }
    params.update((f"staff_{i}", code) for i, code in enumerate(codes))
    statement = _lookup_statement(len(codes), payload.counter_code is not None)
    row = session.execute(statement, params).first()
    if row is None:
        return None
    agency, found_dossier, found_counter = row[0], row[1], row[2]
    found_staff: tuple[int | None, ...] = tuple(row[3:])
    staff = {code: id_ for code, id_ in zip(codes, found_staff, strict=True) if id_ is not None}
    return _Known(agency, found_dossier, staff, found_counter)


def _register_staff(
    session: Session, agency_id: int, known: dict[str, int], codes: list[str]
) -> dict[str, int]:
    """Unknown staff codes are registered under the agency (API.md). A concurrent handover
    registering the same code makes a unique violation, and the work is redone."""
    ids = dict(known)
    for code in codes:
        if code not in ids:
            staff = Staff(agency_id=agency_id, code=code)
            session.add(staff)
            session.flush()
            assert staff.id is not None
            ids[code] = staff.id
    return ids


def _staff_ids(session: Session, agency_id: int, codes: list[str | None]) -> dict[str, int]:
    """Staff ids by code, registering unknown staff under the agency (API.md): one query
    for the usual case of known staff."""
    wanted = sorted({code for code in codes if code is not None})
    if not wanted:
        return {}
    found = session.exec(
        select(Staff).where(Staff.agency_id == agency_id, col(Staff.code).in_(wanted))
    ).all()
    known = {staff.code: staff.id for staff in found if staff.id is not None}
    return _register_staff(session, agency_id, known, wanted)


def _register_counter(session: Session, agency_id: int, code: str) -> int:
    counter = Counter(agency_id=agency_id, code=code)
    session.add(counter)
    session.flush()
    assert counter.id is not None
    return counter.id


def _counter_id(session: Session, agency_id: int, code: str | None) -> int | None:
    if code is None:
        return None
    counter = session.exec(
        select(Counter).where(Counter.agency_id == agency_id, Counter.code == code)
    ).first()
    if counter is None:
        return _register_counter(session, agency_id, code)
    return counter.id


def _apply_facts(session: Session, dossier: Dossier, agency: Agency, p: HandoverCreate) -> None:
    """A known dossier's facts as posted again: the staff and counter it names (registered
    when new), and what the scores derive from them."""
    assert agency.id is not None
    staff = p.staff
    ids = _staff_ids(session, agency.id, [staff.receiving, staff.handling, staff.returning])
    counter_id = _counter_id(session, agency.id, p.counter_code)
    for name, value in new_dossiers.facts(
        p, ids, counter_id, lambda: load_overrides(session)
    ).items():
        setattr(dossier, name, value)
    dossier.updated_at = utcnow()


def _update_known(
    session: Session,
    principal: Principal,
    payload: HandoverCreate,
    settings: Settings,
    profile: Profile,
    known: _Known,
) -> Issued:
    """The dossier was posted before for this agency: same invitation, facts updated,
    counters moved. A revoked, unanswered invitation is replaced by a fresh one."""
    dossier = session.get(Dossier, known.dossier_id)
    assert dossier is not None and dossier.agency_id == known.agency.id
    response = events.response_of(session, dossier)
    before = events.dossier_footprint(session, dossier, profile, response)
    _apply_facts(session, dossier, known.agency, payload)
    session.add(dossier)
    events.record_change(
        session, before, events.dossier_footprint(session, dossier, profile, response)
    )
    invitation = session.exec(select(Invitation).where(Invitation.dossier_id == dossier.id)).one()
    created = False
    if invitation.status == "revoked":
        _reissue(session, principal, invitation, dossier, known.agency, payload, settings)
        created = True
    session.flush()
    # Posted again: no new messages; the answer says what became of the first ones.
    return Issued(invitation, dossier, created, messages.messages_of(session, invitation.id))


def _reissue(
    session: Session,
    principal: Principal,
    invitation: Invitation,
    dossier: Dossier,
    agency: Agency,
    payload: HandoverCreate,
    settings: Settings,
) -> None:
    """A revoked survey posted again gets a fresh link: a new survey id, token and short
    code on the same invitation row (one per dossier). The old link stays dead: its token
    hash and short code are gone. Only an unanswered survey can have been revoked."""
    now = utcnow()
    invitation.public_id = str(uuid.uuid4())
    invitation.token_seed = tokens.new_seed()
    invitation.token_hash = tokens.hash_token(
        tokens.token_from_seed(settings.signing_key(), invitation.token_seed)
    )
    invitation.short_code = tokens.new_short_code()
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


def _create(
    session: Session,
    payload: HandoverCreate,
    settings: Settings,
    profile: Profile,
    known: _Known,
) -> Issued:
    """A new dossier, one by one: register the staff and counter it names for the first
    time, then write it as the batch does."""
    agency = known.agency
    assert agency.id is not None
    staff_ids = _register_staff(session, agency.id, known.staff, staff_codes(payload))
    counter_id = known.counter_id
    if counter_id is None and payload.counter_code is not None:
        counter_id = _register_counter(session, agency.id, payload.counter_code)
    new = new_dossiers.NewHandover(payload, agency, staff_ids, counter_id)
    (written,) = new_dossiers.write(session, [new], settings, profile)
    # Written with the COMMIT: these carry no ids and are not in the session.
    invitation = {k: v for k, v in written.invitation.items() if not k.startswith("dossier_")}
    return Issued(Invitation(**invitation), Dossier(**written.dossier), True, written.messages)


def _known_in_scope(session: Session, principal: Principal, payload: HandoverCreate) -> _Known:
    known = _lookup(session, payload)
    if known is None:
        raise field_error(
            "agency_code", f"no agency has the code '{payload.agency_code}'; register it first"
        )
    principal.require_scope(known.agency)
    return known


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


def current_status(invitation: Invitation, now: datetime | None = None) -> InvitationStatus:
    """The stored status, except that an unanswered link past its expiry reads 'expired'."""
    if invitation.status in ("issued", "opened") and invitation.expires_at <= (now or utcnow()):
        return "expired"
    return cast(InvitationStatus, invitation.status)


def public_view(issued: Issued, settings: Settings) -> HandoverPublic:
    invitation = issued.invitation
    return link_view(
        settings,
        token=tokens.token_from_seed(settings.signing_key(), invitation.token_seed),
        dossier_code=issued.dossier.code,
        survey_id=invitation.public_id,
        short_code=invitation.short_code,
        expires_at=invitation.expires_at,
        status=current_status(invitation),
        messages=issued.messages,
    )


def link_view(
    settings: Settings,
    *,
    token: str,
    dossier_code: str,
    survey_id: str,
    short_code: str,
    expires_at: datetime,
    status: InvitationStatus,
    messages: list[MessagePublic] | None = None,
) -> HandoverPublic:
    """What the one-stop system gets back: the links of the survey and its short code."""
    survey_url = f"{settings.base_url}/s/{token}"
    return HandoverPublic(
        survey_id=survey_id,
        dossier_code=dossier_code,
        survey_url=survey_url,
        short_code=tokens.format_short_code(short_code),
        qr_svg_url=f"{survey_url}/qr.svg",
        qr_png_url=f"{survey_url}/qr.png",
        slip_url=f"{survey_url}/slip",
        expires_at=expires_at,
        status=status,
        messages=messages or [],
    )


def revoke(
    session: Session, principal: Principal, dossier_code: str, agency_code: str | None = None
) -> Issued:
    """Revoke the survey of the dossier with this code among those the key can see (and of
    `agency_code`, when given). A dossier outside the key's scope is "not found", as if it
    did not exist; two visible dossiers with the code need `agency_code` to choose."""
    query = (
        select(Dossier, Agency)
        .join(Agency, col(Agency.id) == col(Dossier.agency_id))
        .where(Dossier.code == dossier_code)
    )
    if principal.scope_path is not None:
        query = query.where(col(Agency.path).startswith(principal.scope_path, autoescape=True))
    if agency_code is not None:
        query = query.where(Agency.code == agency_code)
    found = session.exec(query.limit(2)).all()
    if not found:
        where = f" of agency '{agency_code}'" if agency_code is not None else ""
        raise NotFound(f"No survey was issued for dossier '{dossier_code}'{where}.")
    if len(found) > 1:
        raise Conflict(
            f"Several agencies you can act for have a dossier '{dossier_code}'; add "
            f"'?agency_code=<agency code>' to say whose survey to revoke."
        )
    dossier, agency = found[0]
    principal.require_scope(agency)
    invitation = session.exec(select(Invitation).where(Invitation.dossier_id == dossier.id)).one()
    if invitation.status == "answered":
        raise Conflict(
            f"The survey for dossier '{dossier_code}' has already been answered; "
            "an answered survey cannot be revoked."
        )
    if invitation.status != "revoked":
        invitation.status = "revoked"
        invitation.revoked_at = utcnow()
        session.add(invitation)
        record(
            session,
            principal.actor,
            "invitation.revoke",
            f"dossier:{agency.code}:{dossier_code}",
            {},
        )
        session.flush()
    return Issued(invitation, dossier, created=False)


def find_by_token(session: Session, token: str) -> Issued | None:
    if not token or len(token) > 128:
        return None
    return find_issued(session, col(Invitation.token_hash) == tokens.hash_token(token))


def find_issued(session: Session, condition: ColumnElement[bool]) -> Issued | None:
    """The invitation meeting `condition`, with its dossier, in one query. Its agency is
    loaded by the same query into the session, where what answers and pages read of it
    (its code, its name) is then found without another (session.get)."""
    row = session.exec(
        select(Invitation, Dossier, Agency)
        .join(Dossier, col(Invitation.dossier_id) == col(Dossier.id))
        .join(Agency, col(Agency.id) == col(Dossier.agency_id))
        .where(condition)
    ).first()
    return Issued(row[0], row[1], created=False) if row is not None else None
