"""Working days in Asia/Ho_Chi_Minh: Monday to Friday, minus Vietnam's public holidays.

The `holidays` package (country VN) knows the fixed holidays, Tết and Hùng Kings by the
lunar calendar, and the government's observed days; ANNOUNCED adds what the government
announced that the pinned package does not know yet. Together they are the national
calendar, whose fingerprint is part of the counters' (profile.fingerprint): a new package
or a new announcement rebuilds the counters at the next start. Local overrides (days off
and make-up working days an operator enters, API and CLI) come on top.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# Days the government announced that the pinned `holidays` release does not know, each with
# its source; kept until a release knows them (harmless after). Without them every
# dossier whose lateness spans them had a working day too many or too few (calendar audit).
ANNOUNCED: dict[date, bool] = {
    # 12729/VPCP-KGVX (25/12/2025): New Year 2026 off Thursday 1/1 to Sunday 4/1, Friday
    # 2/1 swapped with Saturday 10/1.
    date(2026, 1, 2): False,
    date(2026, 1, 10): True,
}
# The years whose national working days the fingerprint covers: fixed, so that a new year
# does not rebuild the counters; a change of the package or of ANNOUNCED within it does.
FINGERPRINT_YEARS = range(2000, 2036)


# Every year a date may fall in (the API takes 1900 to 2100): with 64, a dossier due in
# 1900 (a typo) was counted over more years than the cache held, recomputing the holidays
# of each, ~0.4 s a dossier (audit). About 15 KB a year.
YEARS_KEPT = 256


@lru_cache(maxsize=YEARS_KEPT)
def _working_days_of(year: int) -> frozenset[date]:
    # The package knows weekends, holidays, observed days off and the Saturdays worked to
    # make up for them (e.g. 2025-04-26).
    calendar = holidays.country_holidays("VN", years=year)
    day, days = date(year, 1, 1), set()
    while day.year == year:
        if ANNOUNCED.get(day, calendar.is_working_day(day)):
            days.add(day)
        day += timedelta(days=1)
    return frozenset(days)


@lru_cache(maxsize=1)
def national_fingerprint() -> str:
    """Changes whenever the national calendar (the package and ANNOUNCED) says another day
    is or is not a working day, within FINGERPRINT_YEARS: a `make lock` that brings a
    `holidays` knowing new days left the lateness already stored on the old calendar while
    new dossiers used the new one, live scores and a recompute apart (calendar audit)."""
    digest = hashlib.sha256()
    for year in FINGERPRINT_YEARS:
        for day in _ordered_working_days_of(year):
            digest.update(day.toordinal().to_bytes(3, "big"))
    return digest.hexdigest()


@lru_cache(maxsize=YEARS_KEPT)
def _ordered_working_days_of(year: int) -> tuple[date, ...]:
    return tuple(sorted(_working_days_of(year)))


def _working_days_between(first: date, last: date) -> int:
    """Working days from `first` to `last`, both included, without local overrides: counted
    a year at a time in its ordered days, not a day at a time."""
    count = 0
    for year in range(first.year, last.year + 1):
        days = _ordered_working_days_of(year)
        count += bisect_right(days, last) - bisect_left(days, first)
    return count


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
    return working_days_after(local_date(due_at), local_date(resolved_at), overrides)


def working_days_after(day: date, last: date, overrides: Mapping[date, bool] | None = None) -> int:
    """Working days after `day` up to and including `last` (0 when `last` is not after)."""
    first = day + timedelta(days=1)
    if first > last:
        return 0
    count = _working_days_between(first, last)
    for day, working in (overrides or {}).items():  # the overrides' say over the package's
        if first <= day <= last:
            count += working - (day in _working_days_of(day.year))
    return count
