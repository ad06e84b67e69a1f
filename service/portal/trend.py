"""An agency's scores over the last 8 quarters (or 12 months): one grouped query over the day
counters and one over the period inputs, then the rules' arithmetic per bucket."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from service.models import COUNT_COLUMNS, AgencyDayCounter, PeriodInput, utcnow
from service.periods import Period, period_containing
from service.profile import Profile
from service.scoring import aging
from service.scoring.compute import Computed, compute
from service.timebounds import EARLIEST_DAY

QUARTERS = 8
MONTHS = 12


@dataclass(frozen=True)
class TrendPoint:
    period: Period
    computed: Computed


def trend_periods(period: Period, today: date) -> list[Period]:
    """Oldest first, ending with the period shown: months for a month, quarters otherwise
    (for a year: its last quarter, or the current one while the year runs)."""
    if period.kind == "month":
        last, length = period, MONTHS
    elif period.kind == "quarter":
        last, length = period, QUARTERS
    else:
        end = min(period.last_day, max(today, period.first_day))
        last, length = period_containing(end, "quarter"), QUARTERS
    periods = [last]
    # The trend stops at the first period the service knows (1900), rather than asking
    # for one before it.
    while len(periods) < length and periods[-1].first_day > EARLIEST_DAY:
        periods.append(periods[-1].previous())
    periods.reverse()
    return periods


def bucket_counts(
    session: Session, agency_id: int, periods: list[Period]
) -> dict[int, Counter[str]]:
    """Summed counters per period index, in one query: each day row is labelled with the
    index of the period holding it, then summed per label."""
    day = col(AgencyDayCounter.day)
    bucket = case(
        *[(day.between(p.first_day, p.last_day), index) for index, p in enumerate(periods)],
        else_=-1,
    ).label("bucket")
    rows = (
        select(bucket, *[getattr(AgencyDayCounter, c) for c in COUNT_COLUMNS])
        .where(AgencyDayCounter.agency_id == agency_id)
        .where(day.between(periods[0].first_day, periods[-1].last_day))
        .subquery()
    )
    # Grouped on the subquery's column: PostgreSQL cannot match a CASE with bound
    # parameters in SELECT to the same CASE in GROUP BY.
    summed = session.execute(
        select(rows.c.bucket, *[func.sum(rows.c[c]) for c in COUNT_COLUMNS]).group_by(rows.c.bucket)
    ).all()
    return {
        int(row[0]): Counter({c: int(v or 0) for c, v in zip(COUNT_COLUMNS, row[1:], strict=True)})
        for row in summed
    }


def trend(
    session: Session, agency_id: int, periods: list[Period], profile: Profile
) -> list[TrendPoint]:
    """Each period scored as its own score is: the day counters, and the open petitions past
    their deadline now (without them a period's row said 22 "hài lòng" where its score
    said 16.67 "không hài lòng")."""
    counts = bucket_counts(session, agency_id, periods)
    for index, overdue in aging.overdue_by_period(
        session, agency_id, periods, profile, utcnow()
    ).items():
        counts.setdefault(index, Counter()).update(overdue)
    inputs = {
        row.period: row
        for row in session.exec(
            select(PeriodInput).where(
                PeriodInput.agency_id == agency_id,
                col(PeriodInput.period).in_([p.key for p in periods]),
            )
        ).all()
    }
    points = []
    for index, period in enumerate(periods):
        given = inputs.get(period.key)
        computed = compute(
            counts.get(index, Counter()),
            given.d if given else None,
            given.e if given else None,
            profile,
        )
        points.append(TrendPoint(period, computed))
    return points
