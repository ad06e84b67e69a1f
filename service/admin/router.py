"""HTTP for the agency tree."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import Session

from service.admin.agencies import list_agencies, parent_code_of
from service.admin.schemas import AgencyList, AgencyPublic
from service.web.deps import ApiWork
from service.web.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["agencies"])


@router.get(
    "/agencies",
    response_model=AgencyList,
    summary="Agencies this key can see (all, or its scope agency and descendants)",
    responses=error_responses(401, 403),  # 403: a kiosk tablet's device key
)
async def get_agencies(work: ApiWork) -> AgencyList:
    def agencies(session: Session) -> AgencyList:
        principal = work.principal(session)
        data = [
            AgencyPublic(code=a.code, name=a.name, parent_code=parent_code_of(a), level=a.level)
            for a in list_agencies(session, principal.scope_path)
        ]
        return AgencyList(data=data, count=len(data))

    return await work.run(agencies)
