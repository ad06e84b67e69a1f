"""Overdue working days are counted a year at a time (service/calendar/working_days.py),
and agree with the day-by-day count of the reference (tests/scoring/reference.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from service.calendar import working_days
from service.calendar.working_days import local_date, overdue_working_days
from tests.scoring import reference

moments = st.datetimes(datetime(1990, 1, 1), datetime(2060, 1, 1), timezones=st.just(UTC))
overrides = st.dictionaries(st.dates(date(1990, 1, 1), date(2060, 1, 1)), st.booleans())


@given(moments, st.integers(-400, 4000), overrides)
def test_the_count_is_the_day_by_day_count(
    due_at: datetime, hours: int, given_overrides: dict[date, bool]
) -> None:
    resolved_at = due_at + timedelta(hours=hours)
    expected = (
        reference.working_days_between(local_date(due_at), local_date(resolved_at), given_overrides)
        if local_date(resolved_at) > local_date(due_at)
        else 0
    )
    assert overdue_working_days(due_at, resolved_at, given_overrides) == expected


def test_a_dossier_due_in_1900_does_not_recompute_the_years_again() -> None:
    """A due date of 1900 (a typo the API takes) counted over more years than were kept,
    recomputing every year's holidays for each such dossier, ~0.4 s each (audit)."""
    due, resolved = datetime(1900, 1, 2, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    first = overdue_working_days(due, resolved)
    misses = working_days._working_days_of.cache_info().misses
    assert overdue_working_days(due, resolved) == first
    assert working_days._working_days_of.cache_info().misses == misses
