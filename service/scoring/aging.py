"""Petitions that age by themselves: the open petitions whose deadline has passed, read at
the moment a score is read.

A petition still unhandled when its deadline passes counts as handled late from that moment
(profile `open_after_deadline`), with no event to move a counter. So the day counters keep
open petitions apart (`petitions_open*`, see contributions.petition_delta) and every score
read adds, from the petition table, how many of them are past their deadline now. Only open
petitions are read, through a partial index (`ix_petition_open`): a handful per agency,
whatever the history behind them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Integer, and_, case, cast, func, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col

from service.models import Agency
from service.periods import Period
from service.profile import Profile
from service.scoring.sql_rules import PETITIONS, counted_in_group5


@dataclass
class Overdue:
    """Per agency: the open petitions past their deadline at `now` (as read-time counter
    columns), and the next moment one more passes its deadline (when a remembered score of
    these agencies stops being true)."""

    counts: dict[int, Counter[str]] = field(default_factory=dict)
    next_deadline: datetime | None = None


def _open(profile: Profile) -> list[ColumnElement[bool]]:
    """Open petitions with a deadline that count in group 5."""
    p = PETITIONS.c
    return [p.handled_at.is_(None), p.deadline_at.is_not(None), counted_in_group5(profile)]


def _passed(now: datetime) -> ColumnElement[bool]:
    passed: ColumnElement[bool] = PETITIONS.c.deadline_at < now  # at the deadline: on time
    return passed


def _columns(overdue: int, in_authority: int) -> Counter[str]:
    """As read-time counter columns."""
    return Counter({"petitions_overdue": overdue, "petitions_overdue_in_authority": in_authority})


def overdue_open(
    session: Session,
    period: Period,
    profile: Profile,
    now: datetime,
    *,
    agency_ids: Sequence[int] | None = None,
    parent_filter: ColumnElement[bool] | None = None,
) -> Overdue:
    """For the agencies named by id, or the children that `parent_filter` selects."""
    p = PETITIONS.c
    passed = _passed(now)
    query = (
        select(
            p.agency_id,
            cast(func.sum(case((passed, 1), else_=0)), Integer),
            cast(func.sum(case((and_(passed, p.within_authority.is_(True)), 1), else_=0)), Integer),
            func.min(case((p.deadline_at >= now, p.deadline_at), else_=None)),
        )
        .where(*_open(profile))
        .where(p.received_day.between(period.first_day, period.last_day))
        .group_by(p.agency_id)
    )
    if agency_ids is not None:
        if not agency_ids:
            return Overdue()
        query = query.where(p.agency_id.in_(agency_ids))
    if parent_filter is not None:
        query = query.join(Agency, col(Agency.id) == p.agency_id).where(parent_filter)
    result = Overdue()
    for agency_id, overdue, overdue_auth, upcoming in session.execute(query).all():
        if overdue:
            result.counts[agency_id] = _columns(int(overdue), int(overdue_auth or 0))
        # (The CASE keeps the column's UTC type: an aware time on both databases.)
        if upcoming is not None and (
            result.next_deadline is None or upcoming < result.next_deadline
        ):
            result.next_deadline = upcoming
    return result


def overdue_by_period(
    session: Session, agency_id: int, periods: Sequence[Period], profile: Profile, now: datetime
) -> dict[int, Counter[str]]:
    """One agency's open petitions past their deadline at `now`, by the index of the period
    (of the contiguous `periods`, oldest first) they were received in: an agency's trend.
    A handful of rows (open petitions only), bucketed here."""
    p = PETITIONS.c
    rows = session.execute(
        select(p.received_day, p.within_authority)
        .where(p.agency_id == agency_id, *_open(profile), _passed(now))
        .where(p.received_day.between(periods[0].first_day, periods[-1].last_day))
    ).all()
    by_period: dict[int, Counter[str]] = {}
    for day, within_authority in rows:
        index = next(i for i, q in enumerate(periods) if q.first_day <= day <= q.last_day)
        by_period.setdefault(index, Counter()).update(_columns(1, int(bool(within_authority))))
    return by_period


def add_overdue(counts: dict[int, Counter[str]], overdue: Overdue) -> None:
    """Merge the read-time columns into the agencies' summed counters."""
    for agency_id, extra in overdue.counts.items():
        counts.setdefault(agency_id, Counter()).update(extra)


def deadlines_passed(
    session: Session, profile: Profile, after: datetime, until: datetime
) -> list[tuple[int, date]]:
    """(agency, received day) of the open petitions whose deadline passed in (after, until]:
    their scores changed with no event, so the webhook worker announces them
    (score.updated)."""
    p = PETITIONS.c
    rows = session.execute(
        select(p.agency_id, p.received_day)
        .where(p.handled_at.is_(None), p.deadline_at > after, p.deadline_at <= until)
        .where(counted_in_group5(profile))
        .distinct()
    ).all()
    return [(int(agency_id), day) for agency_id, day in rows]
