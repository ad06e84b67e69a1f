"""HTTP for score exports (CSV and XLSX)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from fastapi.types import DecoratedCallable
from sqlmodel import Session

from service.admin.agencies import (
    agencies_in_order,
    chosen_agencies,
)
from service.periods import Period, period_field
from service.portal import exports
from service.portal.exports import Rows
from service.scoring import service as scores
from service.scoring import tt01_read
from service.scoring.service import Scoring
from service.web.deps import ReaderWork
from service.web.errors import error_responses
from service.web.params import AgencyQuery, ParentQuery, PeriodQuery, ProfileQuery
from service.xlsx import XLSX, XlsxWriter

router = APIRouter(prefix="/api/v1", tags=["exports"])


async def _agency_ids(
    work: ReaderWork, agency_code: str | None, parent_code: str | None, profile: str | None
) -> tuple[exports.Families, Scoring]:
    def ids(session: Session) -> tuple[exports.Families, Scoring]:
        principal = work.principal(session)
        scoring = scores.choose_scoring(work.profile, profile)
        agencies = chosen_agencies(session, principal, agency_code, parent_code)
        return exports.Families.of(agencies), scoring

    return await work.run(ids)


def _rows(
    work: ReaderWork, families: exports.Families, period: Period, scoring: Scoring
) -> AsyncIterator[Rows]:
    def rows_of(session: Session, ids: list[int]) -> dict[int, list[Any]]:
        agencies = agencies_in_order(session, ids)
        rows: Rows
        if scoring == "tt01":
            rules = work.profile.also
            assert rules is not None
            found = tt01_read.tt01_scores(session, agencies, period, work.profile)
            rows = [exports.tt01_row_of(s, rules) for s in found]
        else:
            found_k = scores.scores(session, agencies, period, work.profile)
            rows = [exports.row_of(s) for s in found_k]
        return {a.id: row for a, row in zip(agencies, rows, strict=True) if a.id is not None}

    return exports.rows_in_chunks(work, families.ids, families.whole(rows_of))


@dataclass(frozen=True)
class Chosen:
    """What an export is made of: the period, its columns, and its score rows a chunk at a
    time."""

    period: Period
    headers: list[str]
    chunks: AsyncIterator[Rows]


async def _chosen(
    period: PeriodQuery,
    work: ReaderWork,
    agency_code: AgencyQuery = None,
    parent_code: ParentQuery = None,
    profile: ProfileQuery = None,
) -> Chosen:
    """Chosen as GET /api/v1/scores chooses: agency_code was missing, so asking for one
    agency exported every agency the key sees, even where the API said 403 (reports audit)."""
    parsed = period_field(period)
    families, scoring = await _agency_ids(work, agency_code, parent_code, profile)
    rules = work.profile.also
    if scoring == "tt01" and rules:
        headers = exports.tt01_headers(rules)
    else:
        headers = exports.headers(work.profile)
    return Chosen(parsed, headers, _rows(work, families, parsed, scoring))


ChosenScores = Annotated[Chosen, Depends(_chosen)]


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
            yield exports.csv_text(rows, with_header=first, headers=chosen.headers).encode()
            first = False
        if first:
            yield exports.csv_text([], with_header=True, headers=chosen.headers).encode()

    return _download(body(), "text/csv; charset=utf-8", chosen.period, "csv")


@_export("xlsx", XLSX, "Scores of a period as an Excel workbook")
async def scores_xlsx(chosen: ChosenScores) -> StreamingResponse:
    writer = XlsxWriter(f"Điểm {chosen.period.key}", chosen.headers)
    await writer.add_all(chosen.chunks)
    return _download(await writer.stream(), XLSX, chosen.period, "xlsx")
