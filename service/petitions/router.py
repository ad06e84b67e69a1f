"""HTTP for importing and updating petitions."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlmodel import Session

from service.petitions import service
from service.petitions.schemas import PetitionPublic, PetitionUpsert
from service.web.deps import PetitionWork
from service.web.routes import created_or_known

router = APIRouter(prefix="/api/v1", tags=["petitions"])


@router.post(
    "/petitions",
    summary="Import a petition, or update the one with this code",
    **created_or_known(PetitionPublic, "Known petition code: updated", errors=(401, 403, 422)),
)
async def upsert_petition(
    payload: PetitionUpsert, response: Response, work: PetitionWork
) -> PetitionPublic:
    def write(session: Session) -> tuple[bool, PetitionPublic]:
        principal = work.principal(session)
        petition, created = service.upsert(session, principal, payload, work.profile)
        return created, service.public_view(session, petition)

    created, view = await work.run(write)
    if not created:
        response.status_code = 200
    return view
