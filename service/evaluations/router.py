"""HTTP for raw evaluations: GET /api/v1/evaluations, a page at a time, none skipped by a
reader that follows the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session

from service.evaluations import service
from service.evaluations.params import FiltersDep
from service.evaluations.schemas import EvaluationPage
from service.models import MAX_ROW_ID
from service.web.deps import ReaderWork
from service.web.errors import error_responses
from service.web.params import LimitQuery

router = APIRouter(
    prefix="/api/v1", tags=["evaluations"], responses=error_responses(401, 403, 404, 422)
)


@router.get(
    "/evaluations",
    response_model=EvaluationPage,
    summary="Raw evaluations with their dossiers' facts, a page at a time, none skipped "
    "(reader, manager, admin)",
)
async def list_evaluations(
    work: ReaderWork,
    filters: FiltersDep,
    cursor: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_ROW_ID,
            description="`next_cursor` of the previous page, or the last `response_id` read",
        ),
    ] = None,
    limit: LimitQuery = 100,
) -> EvaluationPage:
    def read(session: Session) -> EvaluationPage:
        principal = work.principal(session)
        return service.page(session, principal, filters, work.profile, cursor, limit)

    return await work.run(read)
