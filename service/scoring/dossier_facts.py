"""Re-deriving the dossiers' stored facts (lateness, overdue working days, the group-5
flags) for a rebuild, with today's calendar and profile.

Written for a province-year (5 million dossiers) on PostgreSQL: one pass writes only the
rows whose facts change (`IS DISTINCT FROM`), since rewriting 5 million unchanged rows cost
most of the old rebuild's time, in dead row versions and index entries; overdue working
days are computed in SQL from a cumulative working-day index built in Python with the
service's own calendar (service/calendar/working_days.py), so that "working days after the
due date up to the resolution date" is idx(resolved) − idx(due). SQLite (the embedded mode,
small data) derives overdue days in Python, only for late dossiers, writing only the ones
that change.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    Date,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import Grouping
from sqlmodel import Session, col

from service.calendar.overrides import calendar_for_lateness
from service.calendar.working_days import (
    LOCAL_TZ,
    is_working_day,
    local_date,
    overdue_working_days,
)
from service.models import Dossier, utcnow
from service.periods import Period
from service.profile import Profile
from service.scoring.sql_rules import (
    DOSSIERS,
    INVITATIONS,
    PETITIONS,
    RESPONSES,
    counted_in_group5,
    in_days,
    unsatisfied,
)

BATCH = 5000  # overdue days written per statement (SQLite)


def working_day_index(first: date, last: date, overrides: dict[date, bool]) -> list[int]:
    """index[k] = working days in (first, first + k], for first + k up to `last`: the
    working days after day x up to day y are index[y - first] - index[x - first]."""
    index, total, day = [0], 0, first
    while day < last:
        day += timedelta(days=1)
        total += is_working_day(day, overrides)
        index.append(total)
    return index


def _late_span(session: Session, period: Period | None, is_late: Any) -> tuple[date, date] | None:
    """The local days that late dossiers' due and resolution times span."""
    d = DOSSIERS.c
    row = session.execute(
        select(func.min(d.due_at), func.max(d.resolved_at)).where(
            in_days(d.resolved_day, period), is_late
        )
    ).one()
    if row[0] is None:
        return None
    due, resolved = local_date(row[0]), local_date(row[1])  # min/max keep UTCDateTime
    return due, max(due, resolved)


def _overdue_sql(is_late: Any, span: tuple[date, date], overrides: dict[date, bool]) -> Any:
    """Overdue working days of a dossier, in PostgreSQL: idx(local resolved) - idx(local due)
    over an array index of the span's days (one array, no join)."""
    first, last = span
    # Parenthesised: PostgreSQL subscripts `($1::integer[])[n]`, not `$1::integer[][n]`.
    index = Grouping(
        bindparam("working_day_index", working_day_index(first, last, overrides), ARRAY(Integer))
    )
    d = DOSSIERS.c

    def position(moment: Any) -> Any:  # 1-based position of the moment's local day
        local_day = cast(func.timezone(str(LOCAL_TZ), moment), Date)
        return local_day - bindparam("first_day", first, type_=Date) + 1

    days = index[position(d.resolved_at)] - index[position(d.due_at)]
    # Outside the span only for a dossier written meanwhile by the live path, which derived
    # its own facts: keep them.
    return case((is_late, func.coalesce(days, d.overdue_working_days)), else_=0)


def refresh_dossier_facts(session: Session, profile: Profile, period: Period | None) -> int:
    """Re-derive lateness (with today's calendar) and the group-5 flags of dossiers, writing
    only the dossiers whose facts change. Returns how many changed."""
    d = DOSSIERS.c
    is_late = and_(d.due_at.is_not(None), d.resolved_at > d.due_at)
    petitioned = select(PETITIONS.c.dossier_id).where(
        PETITIONS.c.dossier_id.is_not(None), counted_in_group5(profile)
    )
    unsatisfied_dossiers = (
        select(INVITATIONS.c.dossier_id)
        .join(RESPONSES, RESPONSES.c.invitation_id == INVITATIONS.c.id)
        .where(unsatisfied(profile))
    )
    facts: dict[str, Any] = {
        "is_late": is_late,
        "has_petition": d.id.in_(petitioned),
        "has_unsatisfied_evaluation": d.id.in_(unsatisfied_dossiers),
    }
    overrides = calendar_for_lateness(session)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        span = _late_span(session, period, is_late)
        facts["overdue_working_days"] = (
            _overdue_sql(is_late, span, overrides) if span else literal(0)
        )
    changed = or_(*(d[name].is_distinct_from(value) for name, value in facts.items()))
    # A dossier whose facts change is dated, as events.py dates one whose flags move: an
    # answer waiting for it reads it again only then (surveys.service.store; review).
    result = session.execute(
        update(DOSSIERS)
        .where(in_days(d.resolved_day, period), changed)
        .values(**facts, updated_at=utcnow())
    )
    changes = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if not postgres:
        changes += _refresh_overdue_in_python(session, period, overrides)
    return changes


def _refresh_overdue_in_python(
    session: Session, period: Period | None, overrides: dict[date, bool]
) -> int:
    """SQLite: the late dossiers' overdue days with the live path's own function."""
    in_period = in_days(col(Dossier.resolved_day), period)
    zeroed = session.execute(
        update(DOSSIERS)
        .where(in_period, not_(DOSSIERS.c.is_late), DOSSIERS.c.overdue_working_days != 0)
        .values(overdue_working_days=0)
    )
    late = session.execute(
        select(
            col(Dossier.id),
            col(Dossier.due_at),
            col(Dossier.resolved_at),
            col(Dossier.overdue_working_days),
        ).where(in_period, col(Dossier.is_late))
    ).all()
    changes = []
    for dossier_id, due_at, resolved_at, stored in late:
        days = overdue_working_days(due_at, resolved_at, overrides)
        if days != stored:
            changes.append({"dossier_id": dossier_id, "days": days})
    for start in range(0, len(changes), BATCH):
        session.execute(
            update(DOSSIERS)
            .where(DOSSIERS.c.id == bindparam("dossier_id"))
            .values(overdue_working_days=bindparam("days")),
            changes[start : start + BATCH],
        )
    return int(zeroed.rowcount or 0) + len(changes)  # type: ignore[attr-defined]
