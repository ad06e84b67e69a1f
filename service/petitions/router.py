"""HTTP for importing and updating petitions."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlmodel import Session

from service.errors import error_responses
from service.petitions import service
from service.petitions.schemas import PetitionPublic, PetitionUpsert
from service.unit_of_work import ApiWork

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
async def upsert_petition(
    payload: PetitionUpsert, response: Response, work: ApiWork
) -> PetitionPublic:
    def write(session: Session) -> tuple[bool, PetitionPublic]:
        principal = work.principal(session, "issuer", "manager", "admin")
        petition, created = service.upsert(session, principal, payload, work.profile)
        return created, service.public_view(session, petition)

    created, view = await work.run(write)
    if not created:
        response.status_code = 200
    return view
