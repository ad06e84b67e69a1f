"""HTTP for the API keys (admin): list, revoke, rotate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.admin import key_views
from service.admin.schemas import KeyList, KeyPublic, KeyRotated
from service.models import MAX_ROW_ID
from service.web.deps import AdminWork
from service.web.errors import error_responses
from service.web.params import LimitQuery, RowIdPath

# Every route is the admin's: without a key 401, with another role 403.
router = APIRouter(prefix="/api/v1/keys", tags=["keys"], responses=error_responses(401, 403))


@router.get(
    "",
    response_model=KeyList,
    summary="API keys by id, without their secrets (admin)",
    responses=error_responses(422),
)
async def get_keys(
    work: AdminWork,
    cursor: Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="`next_cursor` of a page")] = 0,
    limit: LimitQuery = 100,
) -> KeyList:
    return await work.run(
        lambda session: key_views.page(session, work.principal(session), cursor, limit)
    )


@router.post(
    "/{key_id}/revoke",
    response_model=KeyPublic,
    summary="Revoke a key: every process refuses it within HAILONG_AUTH_CACHE_SECONDS (admin)",
    responses=error_responses(404, 409),
)
async def revoke_key(key_id: RowIdPath, work: AdminWork) -> KeyPublic:
    revoked = await work.run(lambda s: key_views.revoke(s, work.principal(s), key_id))
    work.forget_key(key_id)
    return revoked


@router.post(
    "/{key_id}/rotate",
    response_model=KeyRotated,
    status_code=201,
    summary="Revoke a key and make its successor; the new key is shown once (admin)",
    responses=error_responses(404, 409),
)
async def rotate_key(key_id: RowIdPath, work: AdminWork) -> KeyRotated:
    rotated = await work.run(lambda s: key_views.rotate(s, work.principal(s), key_id))
    work.forget_key(key_id)  # a leaked key rotated away works no more here
    return rotated
