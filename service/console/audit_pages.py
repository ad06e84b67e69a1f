"""The console's audit log ("Nhật ký thao tác"): admins and auditors read who changed what,
newest first, filtered by actor, action, target and days (Vietnam time), 50 at a time."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlmodel import Session
from starlette.responses import Response

from service import audit
from service.admin import audit_views
from service.auth.roles import AUDITORS
from service.calendar.working_days import LOCAL_TZ
from service.console.web import ConsoleDep, Outcome
from service.models import MAX_ROW_ID
from service.timebounds import OutOfRange, check_day
from service.web.pages import Page

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
PAGE_SIZE = 50
Text = Annotated[str, Query(max_length=255)]
Day = Annotated[str, Query(max_length=10)]


def _day(text: str) -> date | None:
    """YYYY-MM-DD within the accepted range; None when empty; ValueError otherwise."""
    if not text:
        return None
    try:
        return check_day(date.fromisoformat(text))
    except (ValueError, OutOfRange):
        raise ValueError(text) from None


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ)


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    console: ConsoleDep,
    actor: Text = "",
    action: Annotated[str, Query(max_length=64)] = "",
    target: Text = "",
    since: Day = "",
    until: Day = "",
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    values = {"actor": actor, "action": action, "target": target, "since": since, "until": until}
    problems: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name in ("since", "until"):
        try:
            day = _day(values[name])
        except ValueError:
            problems[name], day = "invalid", None
        else:  # "20250101" and "2025-W01-3" are ISO too, but a date field shows them empty
            values[name] = day.isoformat() if day is not None else ""
        days[name] = day
    first, last = days["since"], days["until"]
    if first is not None and last is not None and last < first:
        problems["until"] = "before_since"
    filters = audit.AuditFilter(
        actor=actor.strip() or None,
        action=action.strip() or None,
        target=target.strip() or None,
        since=_start(first) if first is not None else None,
        until=_start(last + timedelta(days=1)) if last is not None else None,
    )

    def show(session: Session) -> Outcome:
        who = console.who(session, AUDITORS)
        context: dict[str, Any] = {"values": values, "problems": problems, "records": []}
        context["older_url"] = context["newest_url"] = None
        if problems:
            return Page("console/audit.html", context, 422)
        found = audit_views.page(session, who, filters, cursor, PAGE_SIZE)
        context["records"] = [
            {**entry.model_dump(), "detail": json.dumps(entry.detail, ensure_ascii=False)}
            for entry in found.data
        ]
        kept = {name: value for name, value in values.items() if value}
        if found.next_cursor is not None:
            context["older_url"] = "/console/audit?" + urlencode(
                {**kept, "cursor": found.next_cursor}
            )
        if cursor is not None:
            context["newest_url"] = "/console/audit" + (f"?{urlencode(kept)}" if kept else "")
        return Page("console/audit.html", context)

    return await console.respond(show)
