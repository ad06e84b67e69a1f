"""HTTP for score exports (CSV and XLSX)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from fastapi.types import DecoratedCallable
from sqlmodel import Session, col, select

from service.admin.agencies import (
    chosen_agencies,
)
from service.models import Agency
from service.periods import Period, period_field
from service.portal import exports
from service.scoring import service as scores
from service.web.deps import ApiWork
from service.web.errors import error_responses
from service.web.params import ParentQuery, PeriodQuery

router = APIRouter(prefix="/api/v1", tags=["exports"])
READERS = ("reader", "manager", "admin")


async def _agency_ids(work: ApiWork, parent_code: str | None) -> list[int]:
    def ids(session: Session) -> list[int]:
        principal = work.principal(session, *READERS)
        agencies = chosen_agencies(session, principal, None, parent_code)
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


@dataclass(frozen=True)
class Chosen:
    """What an export is made of: the period, and its score rows a chunk at a time."""

    period: Period
    chunks: AsyncIterator[list[list[Any]]]


async def _chosen(period: PeriodQuery, work: ApiWork, parent_code: ParentQuery = None) -> Chosen:
    parsed = period_field(period)
    ids = await _agency_ids(work, parent_code)
    return Chosen(parsed, _rows(work, ids, parsed))


ChosenScores = Annotated[Chosen, Depends(_chosen)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _export(
    suffix: str, media: str, summary: str
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """The route of the scores as a `suffix` file: its own type on success, the API's errors."""
    return router.get(
        f"/scores.{suffix}",
        response_class=StreamingResponse,
        responses={200: {"content": {media: {}}}, **error_responses(401, 403, 404, 422)},
        summary=summary,
    )


def _download(
    body: AsyncIterator[bytes], media_type: str, period: Period, suffix: str
) -> StreamingResponse:
    headers = {
        "Content-Disposition": f'attachment; filename="hailong-scores-{period.key}.{suffix}"',
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(body, media_type=media_type, headers=headers)


@_export("csv", "text/csv", "Scores of a period as CSV (UTF-8 with BOM, Vietnamese headers)")
async def scores_csv(chosen: ChosenScores) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield "\ufeff".encode()  # so Excel reads the file as UTF-8 and shows Vietnamese
        first = True
        async for rows in chosen.chunks:
            yield exports.csv_text(rows, with_header=first).encode()
            first = False
        if first:
            yield exports.csv_text([], with_header=True).encode()

    return _download(body(), "text/csv; charset=utf-8", chosen.period, "csv")


@_export("xlsx", XLSX, "Scores of a period as an Excel workbook")
async def scores_xlsx(chosen: ChosenScores) -> StreamingResponse:
    builder = exports.XlsxBuilder(chosen.period.key)
    async for rows in chosen.chunks:
        builder.add(rows)
    spool = builder.file()

    async def body() -> AsyncIterator[bytes]:
        try:
            while block := spool.read(64 * 1024):
                yield block
        finally:
            spool.close()

    return _download(body(), XLSX, chosen.period, "xlsx")
