"""HTTP for response-rate exports: GET /api/v1/response-rates.csv and .xlsx, chosen as
GET /api/v1/response-rates chooses (period, agency_code or parent_code, by, subtree)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from service.admin.agencies import agencies_in_order, chosen_agencies
from service.portal import exports, exports_reach
from service.portal.exports import Rows
from service.scoring.reach import agency_reach
from service.scoring.reach_router import ReachChoice, ReachQuery
from service.web.deps import ReaderWork
from service.web.errors import error_responses
from service.xlsx import XLSX, XlsxWriter

router = APIRouter(prefix="/api/v1", tags=["exports"])


async def _chunks(work: ReaderWork, chosen: ReachChoice) -> AsyncIterator[Rows]:
    period, by = chosen.period, chosen.by

    def ids(session: Session) -> list[int]:
        principal = work.principal(session)
        agencies = chosen_agencies(session, principal, chosen.agency_code, chosen.parent_code)
        return [a.id for a in agencies if a.id is not None]

    def rows_of(session: Session, chunk: list[int]) -> Rows:
        rows: Rows = []
        for agency in agencies_in_order(session, chunk):
            reach = agency_reach(session, agency, period, by, work.profile, chosen.subtree)
            rows.extend(exports_reach.rows_of(reach, period.key, by))
        return rows

    agency_ids = await work.run(ids)  # a 401, 403, 404 before the first byte
    async for rows in exports.rows_in_chunks(work, agency_ids, rows_of):
        yield rows


def _headers(chosen: ReachChoice, suffix: str) -> dict[str, str]:
    name = f"hailong-response-rates-{chosen.by}-{chosen.period.key}.{suffix}"
    return {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store",
    }


async def _first_then_rest(
    chunks: AsyncIterator[Rows],
) -> tuple[Rows | None, AsyncIterator[Rows]]:
    """The first chunk read now, so that an error (401, 403, 404) is an API error and not a
    broken download."""
    first = await anext(chunks, None)
    return first, chunks


@router.get(
    "/response-rates.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(401, 403, 404, 422)},
    summary="Response rates of a period as CSV (UTF-8 with BOM, Vietnamese headers)",
)
async def response_rates_csv(work: ReaderWork, chosen: ReachQuery) -> StreamingResponse:
    first, rest = await _first_then_rest(_chunks(work, chosen))

    async def body() -> AsyncIterator[bytes]:
        yield "\ufeff".encode()  # so Excel reads the file as UTF-8 and shows Vietnamese
        yield exports.csv_text(first or [], True, exports_reach.HEADERS).encode()
        async for rows in rest:
            yield exports.csv_text(rows, False, exports_reach.HEADERS).encode()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers=_headers(chosen, "csv"),
    )


@router.get(
    "/response-rates.xlsx",
    response_class=StreamingResponse,
    responses={200: {"content": {XLSX: {}}}, **error_responses(401, 403, 404, 422)},
    summary="Response rates of a period as an Excel workbook",
)
async def response_rates_xlsx(work: ReaderWork, chosen: ReachQuery) -> StreamingResponse:
    first, rest = await _first_then_rest(_chunks(work, chosen))
    # Made only once the key is checked: a workbook left unsaved complains when collected.
    writer = XlsxWriter(f"Phản hồi {chosen.period.key}", exports_reach.HEADERS)
    await writer.add_all(rest, first=first or [])
    body = await writer.stream()
    return StreamingResponse(body, media_type=XLSX, headers=_headers(chosen, "xlsx"))
