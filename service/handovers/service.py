"""Issuing a survey invitation when a dossier's result is handed over."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service.admin.agencies import get_agency_by_code
from service.admin.audit import record
from service.admin.keys import Principal
from service.errors import Conflict, NotFound, field_error
from service.handovers import tokens
from service.handovers.schemas import HandoverCreate, HandoverPublic, InvitationStatus
from service.models import Agency, Counter, Dossier, Invitation, Staff, utcnow
from service.scoring import events
from service.scoring.contributions import Delta, dossier_delta
from service.scoring.profile import Profile
from service.settings import Settings
from service.webhooks import outbox, payloads

# A clock a few minutes fast on the one-stop server must not turn a handover away.
FUTURE_TOLERANCE = timedelta(hours=1)
ATTEMPTS = 3


@dataclass
class Issued:
    invitation: Invitation
    dossier: Dossier
    created: bool


def _check_times(payload: HandoverCreate) -> None:
    if payload.resolved_at > utcnow() + FUTURE_TOLERANCE:
        raise field_error("resolved_at", "lies in the future; send the actual resolution time")
    if payload.received_at and payload.resolved_at < payload.received_at:
        raise field_error("resolved_at", "is before received_at; check both times")
    if payload.received_at and payload.due_at and payload.due_at < payload.received_at:
        raise field_error("due_at", "is before received_at; check both times")


def _staff_ids(session: Session, agency_id: int, codes: list[str | None]) -> dict[str, int]:
    """Staff ids by code, registering unknown staff under the agency (API.md): one query
    for the usual case of known staff."""
    wanted = {code for code in codes if code is not None}
    if not wanted:
        return {}
    found = session.exec(
        select(Staff).where(Staff.agency_id == agency_id, col(Staff.code).in_(wanted))
    ).all()
    ids = {staff.code: staff.id for staff in found if staff.id is not None}
    for code in sorted(wanted - set(ids)):
        staff = Staff(agency_id=agency_id, code=code)
        session.add(staff)
        session.flush()
        assert staff.id is not None
        ids[code] = staff.id
    return ids


def _counter_id(session: Session, agency_id: int, code: str | None) -> int | None:
    if code is None:
        return None
    counter = session.exec(
        select(Counter).where(Counter.agency_id == agency_id, Counter.code == code)
    ).first()
    if counter is None:
        counter = Counter(agency_id=agency_id, code=code)
        session.add(counter)
        session.flush()
    return counter.id


def _apply_facts(session: Session, dossier: Dossier, agency: Agency, p: HandoverCreate) -> None:
    """Copy the posted facts onto the dossier, and derive what the scores need from them."""
    assert agency.id is not None
    dossier.agency_id = agency.id
    dossier.procedure_code = p.procedure_code
    dossier.procedure_name = p.procedure_name
    dossier.received_at = p.received_at
    dossier.due_at = p.due_at
    dossier.resolved_at = p.resolved_at
    dossier.handed_over_at = p.handed_over_at
    dossier.supplement_requests = p.supplement_requests
    dossier.channel = p.channel
    staff = p.staff
    ids = _staff_ids(session, agency.id, [staff.receiving, staff.handling, staff.returning])
    dossier.receiving_staff_id = ids.get(staff.receiving) if staff.receiving else None
    dossier.handling_staff_id = ids.get(staff.handling) if staff.handling else None
    dossier.returning_staff_id = ids.get(staff.returning) if staff.returning else None
    dossier.counter_id = _counter_id(session, agency.id, p.counter_code)
    dossier.updated_at = utcnow()
    events.derive_timeliness(session, dossier)


def _issue_once(
    session: Session,
    principal: Principal,
    payload: HandoverCreate,
    settings: Settings,
    profile: Profile,
) -> Issued:
    agency = get_agency_by_code(session, payload.agency_code)
    if agency is None:
        raise field_error(
            "agency_code", f"no agency has the code '{payload.agency_code}'; register it first"
        )
    principal.require_scope(agency)
    dossier = session.exec(select(Dossier).where(Dossier.code == payload.dossier_code)).first()
    if dossier is not None:
        previous_agency = session.get(Agency, dossier.agency_id)
        assert previous_agency is not None
        principal.require_scope(previous_agency)
        response = events.response_of(session, dossier)
        before = events.dossier_footprint(session, dossier, profile, response)
        _apply_facts(session, dossier, agency, payload)
        if response is not None and response.agency_id != dossier.agency_id:
            # A corrected agency takes the dossier's evaluation with it.
            response.agency_id = dossier.agency_id
            session.add(response)
        session.add(dossier)
        events.record_change(
            session, before, events.dossier_footprint(session, dossier, profile, response)
        )
        invitation = session.exec(
            select(Invitation).where(Invitation.dossier_id == dossier.id)
        ).one()
        session.flush()
        return Issued(invitation, dossier, created=False)

    dossier = Dossier(
        code=payload.dossier_code,
        agency_id=0,
        resolved_at=payload.resolved_at,
        resolved_day=payload.resolved_at.date(),
    )
    _apply_facts(session, dossier, agency, payload)
    session.add(dossier)
    session.flush()
    assert dossier.id is not None
    seed = tokens.new_seed()
    now = utcnow()
    invitation = Invitation(
        public_id=str(uuid.uuid4()),
        dossier_id=dossier.id,
        token_seed=seed,
        token_hash=tokens.hash_token(tokens.token_from_seed(settings.signing_key(), seed)),
        short_code=tokens.new_short_code(),
        language=payload.language,
        issued_at=now,
        expires_at=now + timedelta(days=settings.invitation_ttl_days),
    )
    session.add(invitation)
    session.flush()
    outbox.emit(
        session,
        "invitation.issued",
        dossier.agency_id,
        payloads.invitation_issued(session, invitation, dossier),
    )
    session.flush()
    # Counters last: every handover of an agency and day updates the same counter rows,
    # so their row locks are taken just before the commit, and held as briefly as can be.
    # A new dossier has no evaluation yet: its footprint is the dossier alone.
    events.record_change(session, Delta(), dossier_delta(dossier, profile))
    return Issued(invitation, dossier, created=True)


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
    _check_times(payload)
    for attempt in range(ATTEMPTS):
        try:
            return _issue_once(session, principal, payload, settings, profile)
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
    token = tokens.token_from_seed(settings.signing_key(), issued.invitation.token_seed)
    survey_url = f"{settings.base_url}/s/{token}"
    return HandoverPublic(
        survey_id=issued.invitation.public_id,
        dossier_code=issued.dossier.code,
        survey_url=survey_url,
        short_code=tokens.format_short_code(issued.invitation.short_code),
        qr_svg_url=f"{survey_url}/qr.svg",
        qr_png_url=f"{survey_url}/qr.png",
        slip_url=f"{survey_url}/slip",
        expires_at=issued.invitation.expires_at,
        status=current_status(issued.invitation),
    )


def revoke(session: Session, principal: Principal, dossier_code: str) -> Issued:
    dossier = session.exec(select(Dossier).where(Dossier.code == dossier_code)).first()
    if dossier is None:
        raise NotFound(f"No survey was issued for dossier '{dossier_code}'.")
    agency = session.get(Agency, dossier.agency_id)
    assert agency is not None
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
        record(session, principal.actor, "invitation.revoke", f"dossier:{dossier_code}", {})
        session.flush()
    return Issued(invitation, dossier, created=False)


def find_by_token(session: Session, token: str) -> Issued | None:
    if not token or len(token) > 128:
        return None
    row = session.exec(
        select(Invitation, Dossier)
        .join(Dossier, col(Invitation.dossier_id) == col(Dossier.id))
        .where(Invitation.token_hash == tokens.hash_token(token))
    ).first()
    if row is None:
        return None
    return Issued(row[0], row[1], created=False)
