"""Petitions (phản ánh kiến nghị): opened from survey complaints, imported later."""

from __future__ import annotations

from sqlmodel import Session

from service.calendar.working_days import add_working_days
from service.models import Dossier, Petition, Response
from service.scoring import events
from service.scoring.profile import Profile


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
        deadline_at=add_working_days(
            response.received_at, profile.petitions.handling_deadline_working_days
        ),
    )
    session.add(petition)
    session.flush()
    events.petition_changed(session, None, petition)
    events.mark_dossier(session, dossier, profile, petition=True)
    return petition
