"""HTTP for the audit log (admin, auditor): a page of records, or all of them as CSV."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from service.admin import audit_views
from service.admin.schemas import AuditPage
from service.audit import AuditFilter
from service.errors import field_error
from service.timebounds import BoundedAwareDatetime
from service.web.deps import AuditorWork
from service.web.errors import error_responses
from service.web.params import CursorQuery, LimitQuery

CSV_CHUNK = 1000

router = APIRouter(prefix="/api/v1", tags=["audit"], responses=error_responses(401, 403, 422))


def _filters(
    actor: Annotated[
        str | None, Query(max_length=255, description="Exactly this actor, e.g. `cli`")
    ] = None,
    action: Annotated[
        str | None,
        Query(max_length=64, description="Actions starting with this, e.g. `key.` or `key.revoke`"),
    ] = None,
    target: Annotated[
        str | None, Query(max_length=255, description="Exactly this target, e.g. `api_key:3`")
    ] = None,
    since: Annotated[
        BoundedAwareDatetime | None, Query(description="At or after this time (with its offset)")
    ] = None,
    until: Annotated[
        BoundedAwareDatetime | None, Query(description="Before this time (with its offset)")
    ] = None,
) -> AuditFilter:
    if since is not None and until is not None and until <= since:
        raise field_error("until", "must be later than since")
    return AuditFilter(actor=actor, action=action, target=target, since=since, until=until)


Filters = Annotated[AuditFilter, Depends(_filters)]


@router.get(
    "/audit",
    response_model=AuditPage,
    summary="Audit records, newest first, a page at a time (admin, auditor)",
)
async def get_audit(
    work: AuditorWork,
    filters: Filters,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> AuditPage:
    def read(session: Session) -> AuditPage:
        principal = work.principal(session)
        return audit_views.page(session, principal, filters, cursor, limit)

    return await work.run(read)


@router.get(
    "/audit.csv",
    response_class=StreamingResponse,
    summary="Every matching audit record, newest first, as CSV (UTF-8 with BOM; admin, auditor)",
    responses={200: {"content": {"text/csv": {}}}},
)
async def get_audit_csv(work: AuditorWork, filters: Filters) -> StreamingResponse:
    def read(cursor: int | None) -> Callable[[Session], tuple[str, int | None]]:
        def run(session: Session) -> tuple[str, int | None]:
            principal = work.principal(session)
            return audit_views.chunk(session, principal, filters, cursor, CSV_CHUNK)

        return run

    # The first chunk before the answer starts: a refused key gets its 401/403, not a CSV.
    first, cursor = await work.run(read(None))

    async def body() -> AsyncIterator[bytes]:
        yield "\ufeff".encode()  # so Excel reads the file as UTF-8 and shows Vietnamese
        yield first.encode()
        next_cursor = cursor
        while next_cursor is not None:
            text, next_cursor = await work.run(read(next_cursor))
            yield text.encode()

    headers = {
        "Content-Disposition": 'attachment; filename="hailong-audit.csv"',
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers=headers)
