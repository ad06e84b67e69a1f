"""HTTP for issuing and revoking survey invitations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlmodel import Session

from service.handovers import issuing, revoking, views
from service.handovers.schemas import DOSSIER_CODE_PATTERN, HandoverCreate, HandoverPublic
from service.text_clean import OptionalCodeText, Stripped
from service.web.deps import IssuerWork
from service.web.errors import error_responses
from service.web.routes import created_or_known

router = APIRouter(prefix="/api/v1/handovers", tags=["handovers"])


@router.post(
    "",
    summary="Issue the survey for a dossier handed over to a citizen",
    **created_or_known(
        HandoverPublic,
        "The dossier was known to this agency: same invitation, facts updated (201 with a "
        "fresh survey if its survey had been revoked)",
        errors=(401, 403, 422),
    ),
)
async def issue_handover(
    payload: HandoverCreate, request: Request, response: Response, work: IssuerWork
) -> HandoverPublic:
    outcome = await issuing.issue(work, request.app.state.handover_writer, payload)
    if outcome.created:
        request.app.state.metrics.invitations_issued.inc()
    else:
        response.status_code = 200
    return outcome.view


@router.post(
    "/{dossier_code}/revoke",
    response_model=HandoverPublic,
    summary="Revoke a dossier's survey link so it can no longer be answered",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def revoke_handover(
    dossier_code: Annotated[str, Stripped, Path(max_length=64, pattern=DOSSIER_CODE_PATTERN)],
    work: IssuerWork,
    agency_code: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The dossier's agency, when agencies you can act for share the code",
        ),
        # As the handover takes it (" G22.39 " is G22.39), and `?agency_code=` a 422: it
        # was compared as written, so the revoke found no such survey (audit).
        OptionalCodeText,
    ] = None,
) -> HandoverPublic:
    def revoke(session: Session) -> HandoverPublic:
        principal = work.principal(session)
        issued = revoking.revoke(
            session, principal, work.settings.signing_key(), dossier_code, agency_code
        )
        return views.public_view(issued, work.settings)

    return await work.run(revoke)
