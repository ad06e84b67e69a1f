"""The local override table: days off and make-up working days announced each year."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from service.audit import record
from service.errors import field_error, storable_field
from service.models import CalendarOverride

NOTE_MAX = 255  # the column's length


def load_overrides(session: Session) -> dict[date, bool]:
    return {o.day: o.working for o in session.exec(select(CalendarOverride)).all()}


def set_override(
    session: Session, day: date, working: bool, note: str | None, *, actor: str
) -> tuple[CalendarOverride, bool | None]:
    """Set a day's override; returns it and the previous `working` value (None if none).
    A note is up to 255 characters of storable text (a field error otherwise), whoever
    sets it: the CLI's reached the database unchecked (PostgreSQL's varchar(255) failed,
    a traceback; SQLite kept it whole). A blank one is no note, as the API always took it."""
    if note is not None and not note.strip():
        note = None
    if note is not None:
        _check_note(note)
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


def _check_note(note: str) -> None:
    if len(note) > NOTE_MAX:
        raise field_error("note", f"give a note of at most {NOTE_MAX} characters")
    storable_field("note", note)
