"""The local override table: days off and make-up working days announced each year."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from service import db
from service.audit import record
from service.calendar.working_days import is_working_day
from service.errors import field_error, storable_field
from service.models import CalendarOverride

NOTE_MAX = 255  # the column's length
# The advisory lock key ("hal-cldr") that serialises a calendar change (exclusive, held by
# `set_override` until its transaction ends) with what derives lateness from the calendar
# (shared, held by `calendar_for_lateness` until its transaction ends). A late dossier handed over
# while a day off was being written read the calendar of before with a plain SELECT, and
# the change's re-derivation (scoring/calendar_days.py), not seeing the uncommitted
# dossier, left it so for good: overdue working days, A and group-5 c wrong (audit).
CALENDAR_LOCK = 0x68616C2D636C6472


def load_overrides(session: Session) -> dict[date, bool]:
    """The local calendar, read plainly: for what a calendar change does not re-derive (a
    petition's deadline, told once; reports, alerts and the console read it as it stands)."""
    return {o.day: o.working for o in session.exec(select(CalendarOverride)).all()}


def day_status(session: Session, day: date) -> tuple[bool, CalendarOverride | None]:
    """Whether `day` is a working day, and the override that says so (None: the national
    calendar does)."""
    override = session.get(CalendarOverride, day)
    return (override.working if override else is_working_day(day)), override


def calendar_for_lateness(session: Session) -> dict[date, bool]:
    """The local calendar as the last committed change left it, none changing it until this
    transaction ends (db.shared): a calendar change waits for the dossiers derived from
    what is read here, and so re-derives them, or they wait for it and read its calendar.
    Never kept beyond the transaction: a cache would give a new dossier the calendar of
    before. The lock's round trip is paid only where lateness is derived: by a batch with a
    late dossier, once (handovers/new_dossiers.py). Taken before any row a calendar change
    locks (handovers/one_by_one.py), or the two deadlock."""
    db.shared(session, CALENDAR_LOCK, CalendarOverride.__tablename__)
    return load_overrides(session)


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
    # Before the row is read or written, so that the dossiers derived meanwhile (each under
    # the shared lock, calendar_for_lateness) are committed and seen by the re-derivation after.
    db.exclusive(session, CALENDAR_LOCK, CalendarOverride.__tablename__)
    override = session.get(CalendarOverride, day)
    previous = override.working if override else None
    previous_note = override.note if override else None
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
        # The note's before too: a day's announced reason rewritten left no trace of what
        # it said (operations audit).
        {"working": working, "previous": previous, "note": note, "previous_note": previous_note},
    )
    session.flush()
    return override, previous


def remove_override(session: Session, day: date, *, actor: str) -> CalendarOverride | None:
    """Remove a day's override: the national calendar says again what the day is. Returns
    the override removed, None where the day had none (nothing to do, nothing recorded: a
    script run twice is not an error). A day entered by mistake stayed overridden with its
    note, and pinned against a later package's word (calendar audit)."""
    db.exclusive(session, CALENDAR_LOCK, CalendarOverride.__tablename__)
    override = session.get(CalendarOverride, day)
    if override is None:
        return None
    record(
        session,
        actor,
        "calendar.unset",
        f"day:{day.isoformat()}",
        {"previous": override.working, "note": override.note, "working": is_working_day(day)},
    )
    session.delete(override)
    session.flush()
    return override


def list_overrides(session: Session) -> list[CalendarOverride]:
    return list(session.exec(select(CalendarOverride).order_by(col(CalendarOverride.day))).all())


def _check_note(note: str) -> None:
    if len(note) > NOTE_MAX:
        raise field_error("note", f"give a note of at most {NOTE_MAX} characters")
    storable_field("note", note)
