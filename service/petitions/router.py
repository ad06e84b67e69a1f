"""HTTP for importing and updating petitions."""

from __future__ import annotations

from fastapi import APIRouter, Response

from service.deps import PetitionWriterKey, ProfileDep, SessionDep
from service.errors import error_responses
from service.petitions import service
from service.petitions.schemas import PetitionPublic, PetitionUpsert

router = APIRouter(prefix="/api/v1", tags=["petitions"])


@router.post(
    "/petitions",
    status_code=201,
    response_model=PetitionPublic,
    responses={
        200: {"description": "Known petition code: updated", "model": PetitionPublic},
        **error_responses(401, 403, 422),
    },
    summary="Import a petition, or update the one with this code",
)
def upsert_petition(
    payload: PetitionUpsert,
    response: Response,
    principal: PetitionWriterKey,
    session: SessionDep,
    profile: ProfileDep,
) -> PetitionPublic:
    petition, created = service.upsert(session, principal, payload, profile)
    if not created:
        response.status_code = 200
    return service.public_view(session, petition)
