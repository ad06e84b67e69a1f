"""HTTP for the raw exports: evaluations and petitions as CSV or XLSX.

Streamed in keyset chunks of `EXPORT_CHUNK` rows, each read in its own short transaction:
a million rows never sit in memory, and no transaction stays open while the client reads.
The first chunk is read before the answer starts, so that a refused key gets its 401 or
403 and not a broken download. The rows are fixed when the export starts (those written
later are left out), so that the count in a private export's audit record is its count."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from sqlalchemy import Row
from sqlmodel import Session

from service.evaluations import query, service, tables
from service.evaluations.params import FiltersDep
from service.evaluations.query import Selection
from service.evaluations.service import Filters, Kind
from service.web.deps import ReaderWork
from service.web.errors import error_responses
from service.xlsx import XLSX, XlsxWriter

EXPORT_CHUNK = 1000  # rows per read; module-level so that a test can make it small
router = APIRouter(prefix="/api/v1", tags=["exports"])
Rows = list[Row[Any]]


def _read(kind: Kind) -> Callable[[Session, Selection, Any, int | None, int], Any]:
    return query.evaluation_chunk if kind == "evaluations" else query.petition_chunk


async def _chunks(
    work: ReaderWork, kind: Kind, filters: Filters
) -> tuple[Selection, Rows, AsyncIterator[Rows]]:
    """The export's rows fixed and its first chunk read (errors raised here, before any byte),
    then the rest a chunk at a time."""
    read, size = _read(kind), EXPORT_CHUNK

    def first(session: Session) -> tuple[Selection, Rows]:
        principal = work.principal(session)
        chosen = service.start_export(session, principal, kind, filters, work.profile)
        return chosen, list(read(session, chosen, work.profile, None, size))

    chosen, rows = await work.run(first)

    async def rest() -> AsyncIterator[Rows]:
        last = rows
        while len(last) == size:
            after = last[-1][0]

            def more(session: Session, after: int = after) -> Rows:
                # The key again: one revoked mid-export stops it at the next chunk.
                work.principal(session)
                return list(read(session, chosen, work.profile, after, size))

            last = await work.run(more)
            if last:
                yield last

    return chosen, rows, rest()


def _download(
    body: AsyncIterator[bytes], media: str, kind: Kind, filters: Filters, suffix: str
) -> StreamingResponse:
    period = f"-{filters.period.key}" if filters.period else ""
    headers = {
        "Content-Disposition": f'attachment; filename="hailong-{kind}{period}.{suffix}"',
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(body, media_type=media, headers=headers)


async def _csv(work: ReaderWork, kind: Kind, filters: Filters) -> StreamingResponse:
    chosen, first, rest = await _chunks(work, kind, filters)
    table = tables.Table(tables.columns_of(kind, chosen.include_private, work.profile))

    async def body() -> AsyncIterator[bytes]:
        yield "\ufeff".encode()  # so Excel reads the file as UTF-8 and shows Vietnamese
        yield table.csv_text(first, with_header=True).encode()
        async for rows in rest:
            # Formatted off the event loop: a thousand rows take a few milliseconds.
            text = await anyio.to_thread.run_sync(table.csv_text, rows, False)
            yield text.encode()

    return _download(body(), "text/csv; charset=utf-8", kind, filters, "csv")


async def _xlsx(work: ReaderWork, kind: Kind, filters: Filters) -> StreamingResponse:
    chosen, first, rest = await _chunks(work, kind, filters)
    title = "Đánh giá" if kind == "evaluations" else "Phản ánh kiến nghị"
    columns = tables.columns_of(kind, chosen.include_private, work.profile)
    writer = XlsxWriter(title, [header for header, _ in columns])
    # Converted column by column, each text column's texts typed as the writer types them.
    table = tables.Table(columns, text=writer.text)
    await writer.add_all(rest, table.rows, first=first)
    return _download(await writer.stream(), XLSX, kind, filters, "xlsx")


# A format: its media type and what writes it.
Export = Callable[[ReaderWork, Kind, Filters], Awaitable[StreamingResponse]]
_FORMATS: dict[str, tuple[str, Export]] = {"csv": ("text/csv", _csv), "xlsx": (XLSX, _xlsx)}


def _export(kind: Kind, export: Export) -> Callable[..., Awaitable[StreamingResponse]]:
    async def download(work: ReaderWork, filters: FiltersDep) -> StreamingResponse:
        return await export(work, kind, filters)

    return download


# Each export is one kind in one format, at /api/v1/<kind>.<format>.
_SUMMARIES: dict[tuple[Kind, str], str] = {
    ("evaluations", "csv"): "Raw evaluations as CSV (UTF-8 with BOM), streamed",
    ("evaluations", "xlsx"): "Raw evaluations as an Excel workbook",
    ("petitions", "csv"): "Petitions with their dossiers' facts as CSV, streamed",
    ("petitions", "xlsx"): "Petitions with their dossiers' facts as an Excel workbook",
}
for (kind, suffix), summary in _SUMMARIES.items():
    media, export = _FORMATS[suffix]
    router.add_api_route(
        f"/{kind}.{suffix}",
        _export(kind, export),
        response_class=StreamingResponse,
        responses={200: {"content": {media: {}}}, **error_responses(401, 403, 404, 422)},
        summary=summary,
        name=f"{kind}_{suffix}",
    )
