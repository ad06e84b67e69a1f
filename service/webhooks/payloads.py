"""Event bodies. No free text and no contact data ever leave in a webhook."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from service.models import Agency, Alert, Petition, Response
from service.models.petition_dossier import dossier_code


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _agency_code(session: Session, agency_id: int) -> str:
    agency = session.get(Agency, agency_id)
    assert agency is not None
    return agency.code


def invitation_issued(
    survey_id: str, dossier_code: str, agency_code: str, issued_at: Any, expires_at: Any
) -> dict[str, Any]:
    # Not the survey URL: its token is the citizen's credential.
    return {
        "survey_id": survey_id,
        "dossier_code": dossier_code,
        "agency_code": agency_code,
        "issued_at": _iso(issued_at),
        "expires_at": _iso(expires_at),
    }


def response_submitted(response: Response, dossier_code: str, agency_code: str) -> dict[str, Any]:
    """`response`: the stored row's columns (a mapped Response, or the answer path's row)."""
    return {
        "response_id": response.id,
        "dossier_code": dossier_code,
        "agency_code": agency_code,
        "source": response.source,
        "received_at": _iso(response.received_at),
        "answers": {
            "timeliness": response.timeliness,
            "supplement_requests": response.supplement_requests,
            "staff_attitude": response.staff_attitude,
            "overall": response.overall,
            # Only where a TT 01/2018 profile asks it: other payloads keep their four.
            **(
                {"agencies_contacted": response.agencies_contacted}
                if response.agencies_contacted is not None
                else {}
            ),
        },
        "has_complaint": bool(response.complaint),
    }


def petition_event(session: Session, petition: Petition) -> dict[str, Any]:
    agency = session.get(Agency, petition.agency_id)
    assert agency is not None
    return {
        "petition_code": petition.code,
        "agency_code": agency.code,
        "dossier_code": dossier_code(session, petition, agency),
        "source": petition.source,
        "received_at": _iso(petition.received_at),
        "deadline_at": _iso(petition.deadline_at),
        "handled_at": _iso(petition.handled_at),
        "citizen_verdict": petition.citizen_verdict,
        "result_complaint": petition.result_complaint,
        "within_authority": petition.within_authority,
        "handled_on_time": petition.handled_on_time,
    }


def alert_raised(alert: Alert, agency_code: str, *, details: bool) -> dict[str, Any]:
    """Codes and figures (service/alerts): never an official's or a citizen's name or contact;
    without `details` (a per-staff alert: alerts.rules.details_for), no subject nor figures."""
    return {
        "alert_id": alert.id,
        "agency_code": agency_code,
        "rule": alert.rule,
        "period": alert.period,
        # A staff or petition code; None: the agency (or not told)
        "subject": (alert.subject or None) if details else None,
        "values": alert.values if details else {},
        "raised_at": _iso(alert.raised_at),
    }
