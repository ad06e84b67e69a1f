"""HTTP for the agency tree and the API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session

from service.admin import keys
from service.admin.agencies import list_agencies, parent_code
from service.admin.schemas import AgencyList, AgencyPublic, KeyList, KeyPublic, KeyRotated
from service.models import MAX_ROW_ID
from service.web.deps import ApiWork
from service.web.errors import error_responses
from service.web.params import RowIdPath

router = APIRouter(prefix="/api/v1", tags=["agencies"])


@router.get(
    "/agencies",
    response_model=AgencyList,
    summary="Agencies this key can see (all, or its scope agency and descendants)",
    responses=error_responses(401),
)
async def get_agencies(work: ApiWork) -> AgencyList:
    def agencies(session: Session) -> AgencyList:
        principal = work.principal(session)
        data = [
            AgencyPublic(code=a.code, name=a.name, parent_code=parent_code(a), level=a.level)
            for a in list_agencies(session, principal.scope_path)
        ]
        return AgencyList(data=data, count=len(data))

    return await work.run(agencies)


def key_public(row: keys.KeyRow) -> KeyPublic:
    key = row.key
    assert key.id is not None
    return KeyPublic(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=key.role,
        agency_code=row.agency_code,
        status=row.status,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        revoked_by=key.revoked_by,
    )


@router.get(
    "/keys",
    response_model=KeyList,
    tags=["keys"],
    summary="API keys by id, without their secrets (admin)",
    responses=error_responses(401, 403, 422),
)
async def get_keys(
    work: ApiWork,
    cursor: Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="`next_cursor` of a page")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> KeyList:
    def listing(session: Session) -> KeyList:
        principal = work.principal(session, "admin")
        rows = keys.list_keys(session, principal, after=cursor, limit=limit)
        data = [key_public(row) for row in rows]
        more = len(rows) == limit
        return KeyList(data=data, count=len(data), next_cursor=data[-1].id if more else None)

    return await work.run(listing)


@router.post(
    "/keys/{key_id}/revoke",
    response_model=KeyPublic,
    tags=["keys"],
    summary="Revoke a key: every process refuses it within HAILONG_AUTH_CACHE_SECONDS (admin)",
    responses=error_responses(401, 403, 404, 409),
)
async def revoke_key(key_id: RowIdPath, work: ApiWork) -> KeyPublic:
    def revoke(session: Session) -> KeyPublic:
        principal = work.principal(session, "admin")
        key = keys.revoke_key(session, key_id, actor=principal.actor, principal=principal)
        return key_public(keys.key_row(session, key))

    return await work.run(revoke)


@router.post(
    "/keys/{key_id}/rotate",
    response_model=KeyRotated,
    status_code=201,
    tags=["keys"],
    summary="Revoke a key and make its successor; the new key is shown once (admin)",
    responses=error_responses(401, 403, 404, 409),
)
async def rotate_key(key_id: RowIdPath, work: ApiWork) -> KeyRotated:
    def rotate(session: Session) -> KeyRotated:
        principal = work.principal(session, "admin")
        new, raw = keys.rotate_key(session, key_id, actor=principal.actor, principal=principal)
        return KeyRotated(key=raw, replaces=key_id, data=key_public(keys.key_row(session, new)))

    return await work.run(rotate)
