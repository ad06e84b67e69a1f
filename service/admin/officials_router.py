"""HTTP for the officials who sign in to the console (admin): list, add, change, disable."""

from __future__ import annotations

from fastapi import APIRouter

from service.admin import official_views
from service.admin.schemas import OfficialCreate, OfficialList, OfficialPublic, OfficialUpdate
from service.web.deps import AdminWork
from service.web.errors import error_responses
from service.web.params import RowIdPath

# Every route is the admin's: without a key 401, with another role or, for an admin key
# limited to an agency, an official outside its tree: 403.
router = APIRouter(
    prefix="/api/v1/officials", tags=["officials"], responses=error_responses(401, 403)
)


@router.get(
    "",
    response_model=OfficialList,
    summary="Officials who may sign in to the console, by id (admin)",
)
async def get_officials(work: AdminWork) -> OfficialList:
    return await work.run(lambda session: official_views.listing(session, work.principal(session)))


@router.post(
    "",
    response_model=OfficialPublic,
    status_code=201,
    summary="Let an official sign in to the console with the identity provider (admin)",
    responses=error_responses(404, 409, 422),
)
async def add_official(payload: OfficialCreate, work: AdminWork) -> OfficialPublic:
    return await work.run(lambda s: official_views.add(s, work.principal(s), payload))


@router.patch(
    "/{official_id}",
    response_model=OfficialPublic,
    summary="Change an official's name, role or agency, or enable them again (admin)",
    responses=error_responses(404, 422),
)
async def update_official(
    official_id: RowIdPath, payload: OfficialUpdate, work: AdminWork
) -> OfficialPublic:
    return await work.run(
        lambda s: official_views.update(s, work.principal(s), official_id, payload)
    )


@router.post(
    "/{official_id}/disable",
    response_model=OfficialPublic,
    summary="Disable an official: their console sessions end at their next request (admin)",
    responses=error_responses(404, 422),
)
async def disable_official(official_id: RowIdPath, work: AdminWork) -> OfficialPublic:
    return await work.run(lambda s: official_views.disable(s, work.principal(s), official_id))
