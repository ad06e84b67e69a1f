"""The console's "Tải báo cáo": the signed-in official's report on an agency's children, as a
plain link (no script), answered with the file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from service.console.web import ConsoleDep, SignedOut, error_page
from service.errors import ServiceError
from service.reports import service
from service.reports.data import Report
from service.reports.service import Format
from service.web.params import CodePath, OptionalPeriodQuery

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


@router.get("/a/{code}/report")
async def console_report(
    console: ConsoleDep,
    code: CodePath,
    period: OptionalPeriodQuery = None,
    format: Annotated[Format, Query()] = "pdf",
) -> Response:
    def read(session: Session) -> Report:
        who = console.who(session)  # managers and admins, as the API
        return service.gather_for(session, code, console.period(period), console.work.profile, who)

    try:
        gathered = await console.work.run(read)
    except SignedOut:
        return console.render(await console.signed_out())
    except ServiceError as exc:
        return console.render(error_page(exc))
    made = await run_in_threadpool(service.render, gathered, format)
    return Response(
        made.content, media_type=made.content_type, headers=service.download_headers(made)
    )
