"""The audit log: written in the same transaction as the change it describes, read by
admins and auditors a page at a time, newest first.

A module of its own, below the domains: every one of them records its changes here."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from service.csv_cells import csv_cell
from service.models import AuditLog
from service.models.base import ACTOR_MAX

CSV_HEADERS = ["Mã", "Thời điểm (UTC)", "Người thực hiện", "Thao tác", "Đối tượng", "Chi tiết"]


def record(
    session: Session, actor: str, action: str, target: str | None, detail: dict[str, Any]
) -> None:
    session.add(AuditLog(actor=actor[:ACTOR_MAX], action=action, target=target, detail=detail))


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # exactly this actor ("key:3:portal", "cli", "citizen")
    action: str | None = None  # actions starting with this ("key." or "key.revoke")
    target: str | None = None  # exactly this target ("api_key:3", "agency:79.BTH")
    since: datetime | None = None  # at or after
    until: datetime | None = None  # before


def query(
    session: Session, filters: AuditFilter, *, before: int | None = None, limit: int = 100
) -> Sequence[AuditLog]:
    """Matching records newest first (by id, the order they were written), those with an id
    below `before` (the cursor: the last id of the previous page)."""
    statement = select(AuditLog).order_by(col(AuditLog.id).desc()).limit(limit)
    if before is not None:
        statement = statement.where(col(AuditLog.id) < before)
    if filters.actor is not None:
        statement = statement.where(col(AuditLog.actor) == filters.actor)
    if filters.action is not None:
        statement = statement.where(
            col(AuditLog.action).startswith(filters.action, autoescape=True)
        )
    if filters.target is not None:
        statement = statement.where(col(AuditLog.target) == filters.target)
    if filters.since is not None:
        statement = statement.where(col(AuditLog.at) >= filters.since)
    if filters.until is not None:
        statement = statement.where(col(AuditLog.at) < filters.until)
    return session.exec(statement).all()


def csv_text(records: Sequence[AuditLog], with_header: bool) -> str:
    """Records as CSV lines; every text a spreadsheet could take for a formula stays text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if with_header:
        writer.writerow(CSV_HEADERS)
    for entry in records:
        detail = json.dumps(entry.detail, ensure_ascii=False, sort_keys=True)
        row = [entry.id, entry.at.isoformat(), entry.actor, entry.action, entry.target, detail]
        writer.writerow([csv_cell(value) for value in row])
    return buffer.getvalue()
