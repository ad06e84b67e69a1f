"""What a rebuild changed, announced as `score.updated` like a live write's changes.

A rebuild (`hailong import`'s recompute, `hailong scores recompute`, a changed profile at
start) writes the counters by SQL, not through `counters.apply`, so it marked no score as
changed: portals kept the scores they had before an import (webhooks audit).

A score of a month, quarter or year reads the sums of its days' counters, and each of
those periods is made of whole months. So each agency's monthly sums of every counter
column are read before the rebuild and after it (a GROUP BY: a few rows per agency and
month, where copying every agency-day row aside and comparing the copies took seconds
under the rebuild's lock; review), and every agency-month whose sums differ marks its
month, quarter and year. The counts are integers: a rebuild that changed nothing
announces nothing. One whose rules changed every score (a profile changed at start, whose
rules are also read when a score is) announces every agency-month it holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import Table, extract, func, select
from sqlmodel import Session

from service.models import COUNT_COLUMNS, AgencyDayCounter
from service.periods import Period
from service.scoring.sql_rules import in_days
from service.webhooks import outbox

_COUNTERS: Table = AgencyDayCounter.__table__  # type: ignore[attr-defined]

AgencyMonth = tuple[int, int, int]  # agency id, year, month


def _month_sums(session: Session, period: Period | None) -> dict[AgencyMonth, tuple[Any, ...]]:
    c = _COUNTERS.c
    year, month = extract("year", c.day), extract("month", c.day)
    rows = session.execute(
        select(c.agency_id, year, month, *(func.sum(c[name]) for name in COUNT_COLUMNS))
        .where(in_days(c.day, period))
        .group_by(c.agency_id, year, month)
    )
    return {(int(a), int(y), int(m)): tuple(sums) for a, y, m, *sums in rows}


@contextmanager
def announced_changes(
    session: Session, period: Period | None, everything: bool = False
) -> Iterator[None]:
    """Marks, with the rebuild's COMMIT, the scores the block's counter writes changed (or,
    `everything`, every score the counters hold before or after it)."""
    if everything:
        # Which agency-months, not the sums of every column: those, read twice, took 3-6 s
        # at start on 1.4 million counter rows for nothing (review).
        before = _months(session, period)
        yield
        changed = before | _months(session, period)
    else:
        sums = _month_sums(session, period)
        yield
        after = _month_sums(session, period)
        changed = {key for key in sums.keys() | after.keys() if sums.get(key) != after.get(key)}
    outbox.mark_scores_dirty(session, sorted((a, date(y, m, 1)) for a, y, m in changed))


def _months(session: Session, period: Period | None) -> set[AgencyMonth]:
    c = _COUNTERS.c
    year, month = extract("year", c.day), extract("month", c.day)
    rows = session.execute(
        select(c.agency_id, year, month).where(in_days(c.day, period)).distinct()
    )
    return {(int(a), int(y), int(m)) for a, y, m in rows}
