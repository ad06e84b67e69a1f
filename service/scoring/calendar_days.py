"""Changing the calendar moves the dossiers whose lateness spans the changed day.

In scoring, not service/calendar: re-deriving lateness moves counters (scoring/events.py),
while service/calendar stays the working-day arithmetic that scoring itself reads."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlmodel import Session, col, select

from service.calendar.overrides import calendar_for_lateness, remove_override, set_override
from service.calendar.working_days import LOCAL_TZ, is_working_day
from service.db import for_update
from service.models import CalendarOverride, Dossier
from service.profile import Profile
from service.scoring import events


def set_day(
    session: Session, day: date, working: bool, note: str | None, *, actor: str, profile: Profile
) -> tuple[CalendarOverride, int]:
    """Set the override and re-derive affected dossiers; returns (override, dossiers moved).
    A day set to what it already was (the national calendar's word where it had no
    override: a notice's Tết days entered as given) moves nothing: it locked every late
    dossier around it and reported them all re-scored (calendar audit)."""
    override, previous = set_override(session, day, working, note, actor=actor)
    if (previous if previous is not None else is_working_day(day)) == working:
        return override, 0
    return override, _rescore(session, day, profile)


def unset_day(session: Session, day: date, *, actor: str, profile: Profile) -> int | None:
    """Remove the day's override and re-derive the affected dossiers where the national
    calendar says otherwise; returns the dossiers moved, None where there was none."""
    removed = remove_override(session, day, actor=actor)
    if removed is None:
        return None
    if removed.working == is_working_day(day):
        return 0
    return _rescore(session, day, profile)


def _rescore(session: Session, day: date, profile: Profile) -> int:
    """Re-derives the late dossiers whose lateness spans `day`; returns how many."""
    overrides = calendar_for_lateness(session)
    start_of_day = datetime.combine(day, time(0), LOCAL_TZ)
    # Locked and read afresh, as a re-post reads its dossier (handovers/one_by_one.py): read
    # plainly, a re-post committed meanwhile was undone in the counters by an after - before
    # taken from the row as it had been (audit: a_late_over -1 for good). set_override took
    # the calendar's lock (overrides.CALENDAR_LOCK) first: a dossier derived under its
    # shared form is committed by now and read here, one derived after reads the new day.
    # (A late re-post of a dossier read here locks it before reading the calendar: the two
    # may deadlock, rarely; PostgreSQL rolls one back, a request's redone, db.redone_if_lost.)
    affected = session.exec(
        for_update(
            select(Dossier)
            .where(
                col(Dossier.is_late).is_(True),
                col(Dossier.resolved_day) >= day,
                col(Dossier.due_at) < start_of_day,
            )
            .order_by(col(Dossier.id))
        )
    ).all()
    for dossier in affected:
        before = events.dossier_footprint(session, dossier, profile)
        events.derive_timeliness(session, dossier, overrides)
        session.add(dossier)
        events.record_change(session, before, events.dossier_footprint(session, dossier, profile))
    session.flush()
    return len(affected)
