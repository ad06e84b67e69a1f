"""HTTP for the officials who sign in to the console (admin): list, add, change, disable."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import Session

from service.admin import official_views
from service.admin.schemas import OfficialCreate, OfficialList, OfficialPublic, OfficialUpdate
from service.errors import field_error
from service.web.deps import ApiWork
from service.web.errors import error_responses
from service.web.params import RowIdPath

# Every route is the admin's: without a key 401, with another role or, for an admin key
# limited to an agency, an official outside its tree: 403.
router = APIRouter(
    prefix="/api/v1/officials", tags=["officials"], responses=error_responses(401, 403)
)


def _agency_code_given(agency_code: str | None) -> None:
    """An empty `agency_code` names no agency, nor every agency (null says that): it was a
    404 "No agency has the code ''" (audit), where the field is what is wrong."""
    if agency_code is not None and not agency_code.strip():
        raise field_error("agency_code", "give an agency's code, or null for every agency")


@router.get(
    "",
    response_model=OfficialList,
    summary="Officials who may sign in to the console, by id (admin)",
)
async def get_officials(work: ApiWork) -> OfficialList:
    return await work.run(
        lambda session: official_views.listing(session, work.principal(session, "admin"))
    )


@router.post(
    "",
    response_model=OfficialPublic,
    status_code=201,
    summary="Let an official sign in to the console with the identity provider (admin)",
    responses=error_responses(404, 409, 422),
)
async def add_official(payload: OfficialCreate, work: ApiWork) -> OfficialPublic:
    def add(session: Session) -> OfficialPublic:
        principal = work.principal(session, "admin")
        _agency_code_given(payload.agency_code)
        return official_views.add(session, principal, payload)

    return await work.run(add)


@router.patch(
    "/{official_id}",
    response_model=OfficialPublic,
    summary="Change an official's name, role or agency, or enable them again (admin)",
    responses=error_responses(404, 422),
)
async def update_official(
    official_id: RowIdPath, payload: OfficialUpdate, work: ApiWork
) -> OfficialPublic:
    def update(session: Session) -> OfficialPublic:
        principal = work.principal(session, "admin")
        _agency_code_given(payload.agency_code)
        return official_views.update(session, principal, official_id, payload)

    return await work.run(update)


@router.post(
    "/{official_id}/disable",
    response_model=OfficialPublic,
    summary="Disable an official: their console sessions end at their next request (admin)",
    responses=error_responses(404, 422),
)
async def disable_official(official_id: RowIdPath, work: ApiWork) -> OfficialPublic:
    return await work.run(
        lambda s: official_views.disable(s, work.principal(s, "admin"), official_id)
    )
