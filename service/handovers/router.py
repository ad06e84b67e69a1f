"""HTTP for issuing and revoking survey invitations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from service.deps import IssuerKey, ProfileDep, SessionDep, SettingsDep
from service.errors import error_responses
from service.handovers import service
from service.handovers.schemas import DOSSIER_CODE_PATTERN, HandoverCreate, HandoverPublic

router = APIRouter(prefix="/api/v1/handovers", tags=["handovers"])


@router.post(
    "",
    status_code=201,
    response_model=HandoverPublic,
    summary="Issue the survey for a dossier handed over to a citizen",
    responses={
        200: {
            "description": "The dossier was known: same invitation, facts updated",
            "model": HandoverPublic,
        },
        **error_responses(401, 403, 422),
    },
)
def issue_handover(
    payload: HandoverCreate,
    request: Request,
    response: Response,
    principal: IssuerKey,
    session: SessionDep,
    settings: SettingsDep,
    profile: ProfileDep,
) -> HandoverPublic:
    issued = service.issue(session, principal, payload, settings, profile)
    if issued.created:
        request.app.state.metrics.invitations_issued.inc()
    else:
        response.status_code = 200
    return service.public_view(issued, settings)


@router.post(
    "/{dossier_code}/revoke",
    response_model=HandoverPublic,
    summary="Revoke a dossier's survey link so it can no longer be answered",
    responses=error_responses(401, 403, 404, 409, 422),
)
def revoke_handover(
    dossier_code: Annotated[str, Path(max_length=64, pattern=DOSSIER_CODE_PATTERN)],
    principal: IssuerKey,
    session: SessionDep,
    settings: SettingsDep,
) -> HandoverPublic:
    issued = service.revoke(session, principal, dossier_code)
    return service.public_view(issued, settings)
