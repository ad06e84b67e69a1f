"""The audit log as admins and auditors read it: a page at a time, or every record as CSV.

The records name no agency (a key, a day, a petition code...), so the log is read whole or
not at all: a key limited to an agency subtree, admin or auditor, is refused."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from service import audit
from service.admin.schemas import AuditPage, AuditRecordPublic
from service.auth.principal import Principal
from service.models import AuditLog


def require_reader(principal: Principal) -> None:
    principal.require_unscoped("The audit log")


def record_public(entry: AuditLog) -> AuditRecordPublic:
    assert entry.id is not None
    return AuditRecordPublic(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        detail=entry.detail,
    )


def page(
    session: Session,
    principal: Principal,
    filters: audit.AuditFilter,
    cursor: int | None,
    limit: int,
) -> AuditPage:
    """Newest first; `next_cursor` (the page's last id) when there may be more."""
    require_reader(principal)
    records = audit.query(session, filters, before=cursor, limit=limit)
    data = [record_public(entry) for entry in records]
    more = len(data) == limit
    return AuditPage(data=data, count=len(data), next_cursor=data[-1].id if more else None)


def chunk(
    session: Session,
    principal: Principal,
    filters: audit.AuditFilter,
    cursor: int | None,
    size: int,
) -> tuple[str, int | None]:
    """CSV lines of up to `size` records below `cursor` (the header on the first chunk) and
    the cursor of the next chunk, None after the last."""
    require_reader(principal)
    records: Sequence[AuditLog] = audit.query(session, filters, before=cursor, limit=size)
    text = audit.csv_text(records, with_header=cursor is None)
    return text, (records[-1].id if len(records) == size else None)
