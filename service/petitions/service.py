"""Petitions (phản ánh kiến nghị): opened from survey complaints, imported later."""

from __future__ import annotations

from sqlmodel import Session, select

from service.admin.agencies import get_agency_by_code
from service.admin.keys import Principal
from service.calendar.overrides import load_overrides
from service.calendar.working_days import add_working_days, local_date
from service.errors import field_error
from service.models import Agency, Dossier, Petition, Response, utcnow
from service.petitions.schemas import PetitionPublic, PetitionUpsert
from service.scoring import events
from service.scoring.contributions import petition_on_time
from service.scoring.profile import Profile
from service.webhooks import outbox, payloads


def open_from_complaint(
    session: Session, response: Response, dossier: Dossier, profile: Profile
) -> Petition:
    """A non-empty survey complaint is a petition to the dossier's agency."""
    assert response.id is not None
    petition = Petition(
        code=f"HL-{dossier.code}",  # one response per dossier, so one complaint per dossier
        agency_id=dossier.agency_id,
        dossier_id=dossier.id,
        response_id=response.id,
        source="survey",
        received_at=response.received_at,
        received_day=response.received_day,
        deadline_at=add_working_days(
            response.received_at,
            profile.petitions.handling_deadline_working_days,
            load_overrides(session),
        ),
    )
    session.add(petition)
    session.flush()
    events.petition_changed(session, None, petition)
    events.mark_dossier(session, dossier, profile, petition=True)
    outbox.emit(
        session, "petition.created", petition.agency_id, payloads.petition_event(session, petition)
    )
    return petition


def upsert(
    session: Session, principal: Principal, payload: PetitionUpsert, profile: Profile
) -> tuple[Petition, bool]:
    """Import a petition, or update the one with this code. Returns (petition, created)."""
    agency = get_agency_by_code(session, payload.agency_code)
    if agency is None:
        raise field_error("agency_code", f"no agency has the code '{payload.agency_code}'")
    principal.require_scope(agency)
    dossier = None
    if payload.dossier_code:
        dossier = session.exec(select(Dossier).where(Dossier.code == payload.dossier_code)).first()
        if dossier is None:
            raise field_error("dossier_code", f"no dossier has the code '{payload.dossier_code}'")
    if payload.handled_at and payload.handled_at < payload.received_at:
        raise field_error("handled_at", "is before received_at; check both times")
    petition = session.exec(select(Petition).where(Petition.code == payload.petition_code)).first()
    before = events.snapshot(petition) if petition else None
    if petition is not None:
        previous_agency = session.get(Agency, petition.agency_id)
        assert previous_agency is not None
        principal.require_scope(previous_agency)
    assert agency.id is not None
    petition = petition or Petition(
        code=payload.petition_code,
        agency_id=agency.id,
        source="import",
        received_at=payload.received_at,
        received_day=local_date(payload.received_at),
    )
    petition.agency_id = agency.id
    petition.dossier_id = dossier.id if dossier else petition.dossier_id
    petition.received_at = payload.received_at
    petition.received_day = local_date(payload.received_at)
    petition.deadline_at = payload.deadline_at or add_working_days(
        payload.received_at,
        profile.petitions.handling_deadline_working_days,
        load_overrides(session),
    )
    petition.handled_at = payload.handled_at
    petition.citizen_verdict = payload.citizen_verdict
    petition.result_complaint = payload.result_complaint
    petition.within_authority = payload.within_authority
    petition.outcome = payload.outcome
    petition.updated_at = utcnow()
    session.add(petition)
    session.flush()
    events.petition_changed(session, before, petition)
    if dossier is not None and not dossier.has_petition:
        events.mark_dossier(session, dossier, profile, petition=True)
    kind = "petition.created" if before is None else "petition.updated"
    outbox.emit(session, kind, petition.agency_id, payloads.petition_event(session, petition))
    return petition, before is None


def public_view(session: Session, petition: Petition) -> PetitionPublic:
    agency = session.get(Agency, petition.agency_id)
    dossier = session.get(Dossier, petition.dossier_id) if petition.dossier_id else None
    assert agency is not None
    return PetitionPublic(
        petition_code=petition.code,
        agency_code=agency.code,
        dossier_code=dossier.code if dossier else None,
        source=petition.source,
        received_at=petition.received_at,
        deadline_at=petition.deadline_at,
        handled_at=petition.handled_at,
        citizen_verdict=petition.citizen_verdict,
        result_complaint=petition.result_complaint,
        within_authority=petition.within_authority,
        handled_on_time=petition_on_time(petition),
    )
