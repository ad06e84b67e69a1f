"""The local override table: days off and make-up working days announced each year."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from service.audit import record
from service.models import CalendarOverride


def load_overrides(session: Session) -> dict[date, bool]:
    return {o.day: o.working for o in session.exec(select(CalendarOverride)).all()}


def set_override(
    session: Session, day: date, working: bool, note: str | None, *, actor: str
) -> tuple[CalendarOverride, bool | None]:
    """Set a day's override; returns it and the previous `working` value (None if none)."""
    override = session.get(CalendarOverride, day)
    previous = override.working if override else None
    if override is None:
        override = CalendarOverride(day=day, working=working, note=note, set_by=actor)
    else:
        override.working, override.note, override.set_by = working, note, actor
    session.add(override)
    record(
        session,
        actor,
        "calendar.set",
        f"day:{day.isoformat()}",
        {"working": working, "previous": previous, "note": note},
    )
    session.flush()
    return override, previous
