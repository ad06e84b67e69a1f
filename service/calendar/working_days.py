"""Working days in Asia/Ho_Chi_Minh: Monday to Friday, minus Vietnam's public holidays.

The `holidays` package (country VN) knows the fixed holidays, Tết and Hùng Kings by the
lunar calendar, and the government's observed days. Local overrides (days off and make-up
working days announced each year) come on top.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@lru_cache(maxsize=64)
def _working_days_of(year: int) -> frozenset[date]:
    # The package knows weekends, holidays, observed days off and the Saturdays worked to
    # make up for them (e.g. 2025-04-26).
    calendar = holidays.country_holidays("VN", years=year)
    day, days = date(year, 1, 1), set()
    while day.year == year:
        if calendar.is_working_day(day):
            days.add(day)
        day += timedelta(days=1)
    return frozenset(days)


def is_working_day(day: date, overrides: Mapping[date, bool] | None = None) -> bool:
    if overrides and day in overrides:
        return overrides[day]
    return day in _working_days_of(day.year)


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def add_working_days(
    start: datetime, days: int, overrides: Mapping[date, bool] | None = None
) -> datetime:
    """The end of the `days`-th working day after the local day of `start` (its last
    instant, local: handled at 23:59:59.5 that day is handled that day)."""
    day = local_date(start)
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day, overrides):
            remaining -= 1
    return datetime.combine(day, time.max, LOCAL_TZ)


def overdue_working_days(
    due_at: datetime, resolved_at: datetime, overrides: Mapping[date, bool] | None = None
) -> int:
    """Working days after the due date up to the resolution date (0 when not after it)."""
    due_day, resolved_day = local_date(due_at), local_date(resolved_at)
    count, day = 0, due_day + timedelta(days=1)
    while day <= resolved_day:
        count += is_working_day(day, overrides)
        day += timedelta(days=1)
    return count
