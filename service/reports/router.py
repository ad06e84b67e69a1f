"""HTTP for the report: `GET /api/v1/reports/{parent_code}?period=...&format=docx|pdf`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from service.periods import period_field
from service.reports import service
from service.reports.data import Report
from service.reports.service import CONTENT_TYPES, Format
from service.web.deps import ManagerWork
from service.web.errors import error_responses
from service.web.params import CodePath, PeriodQuery

router = APIRouter(
    prefix="/api/v1", tags=["reports"], responses=error_responses(401, 403, 404, 422)
)


@router.get(
    "/reports/{parent_code}",
    summary="The report on a parent agency's children for a period, as DOCX or PDF",
    response_class=Response,
    responses={
        200: {
            "description": "The report file (attachment)",
            "content": {media: {} for media in CONTENT_TYPES.values()},
        }
    },
)
async def report(
    parent_code: CodePath,
    period: PeriodQuery,
    work: ManagerWork,
    format: Annotated[Format, Query(description="docx or pdf")] = "pdf",
) -> Response:
    parsed = period_field(period)

    def read(session: Session) -> Report:
        principal = work.principal(session)
        return service.gather_for(session, parent_code, parsed, work.profile, principal)

    gathered = await work.run(read)
    made = await run_in_threadpool(service.render, gathered, format)
    return Response(
        made.content, media_type=made.content_type, headers=service.download_headers(made)
    )
