"""HTTP for score exports (CSV and XLSX)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlmodel import Session, col, select

from service.admin.agencies import get_agency_by_code, list_agencies
from service.errors import NotFound, error_responses
from service.models import Agency
from service.portal import exports
from service.scoring import service as scores
from service.scoring.periods import PERIOD_HELP, Period, period_field
from service.unit_of_work import ApiWork

router = APIRouter(prefix="/api/v1", tags=["exports"])
PeriodQuery = Annotated[str, Query(max_length=16, description=PERIOD_HELP)]
ParentQuery = Annotated[str | None, Query(max_length=64, description="Only this agency's children")]
READERS = ("reader", "manager", "admin")


async def _agency_ids(work: ApiWork, parent_code: str | None) -> list[int]:
    def ids(session: Session) -> list[int]:
        principal = work.principal(session, *READERS)
        if parent_code is None:
            agencies = list_agencies(session, principal.scope_path)
        else:
            parent = get_agency_by_code(session, parent_code)
            if parent is None:
                raise NotFound(f"No agency has the code '{parent_code}'.")
            principal.require_scope(parent)
            agencies = list(
                session.exec(
                    select(Agency).where(Agency.parent_id == parent.id).order_by(col(Agency.code))
                ).all()
            )
        return [a.id for a in agencies if a.id is not None]

    return await work.run(ids)


async def _rows(work: ApiWork, ids: list[int], period: Period) -> AsyncIterator[list[list[Any]]]:
    for chunk in exports.chunks(ids):

        def compute(session: Session, chunk: Any = chunk) -> list[list[Any]]:
            agencies = list(
                session.exec(
                    select(Agency).where(col(Agency.id).in_(chunk)).order_by(col(Agency.path))
                ).all()
            )
            return [
                exports.row_of(s) for s in scores.scores(session, agencies, period, work.profile)
            ]

        yield await work.run(compute)


def _disposition(period: Period, suffix: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="hailong-scores-{period.key}.{suffix}"',
        "Cache-Control": "private, no-store",
    }


@router.get(
    "/scores.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(401, 403, 404, 422)},
    summary="Scores of a period as CSV (UTF-8 with BOM, Vietnamese headers)",
)
async def scores_csv(
    period: PeriodQuery, work: ApiWork, parent_code: ParentQuery = None
) -> StreamingResponse:
    parsed = period_field(period)
    ids = await _agency_ids(work, parent_code)

    async def body() -> AsyncIterator[bytes]:
        yield "\ufeff".encode()  # so Excel reads the file as UTF-8 and shows Vietnamese
        first = True
        async for rows in _rows(work, ids, parsed):
            yield exports.csv_text(rows, with_header=first).encode()
            first = False
        if first:
            yield exports.csv_text([], with_header=True).encode()

    return StreamingResponse(
        body(), media_type="text/csv; charset=utf-8", headers=_disposition(parsed, "csv")
    )


@router.get(
    "/scores.xlsx",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
        **error_responses(401, 403, 404, 422),
    },
    summary="Scores of a period as an Excel workbook",
)
async def scores_xlsx(
    period: PeriodQuery, work: ApiWork, parent_code: ParentQuery = None
) -> StreamingResponse:
    parsed = period_field(period)
    ids = await _agency_ids(work, parent_code)
    builder = exports.XlsxBuilder(parsed.key)
    async for rows in _rows(work, ids, parsed):
        builder.add(rows)
    spool = builder.file()

    async def body() -> AsyncIterator[bytes]:
        try:
            while block := spool.read(64 * 1024):
                yield block
        finally:
            spool.close()

    return StreamingResponse(
        body(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=_disposition(parsed, "xlsx"),
    )
