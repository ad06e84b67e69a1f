"""Periods: month `2025-08`, quarter `2025-Q3`, year `2025`, cut in local days.

Not inside service/scoring: the event outbox marks the periods a change moves, and the
pages and exports name them, below and beside scoring alike."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from service.calendar.working_days import local_date
from service.errors import field_error
from service.models.base import utcnow
from service.timebounds import EARLIEST_YEAR, LATEST_YEAR

_PATTERN = re.compile(r"(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])))?", re.ASCII)
PERIOD_HELP = "a month like 2025-08, a quarter like 2025-Q3, or a year like 2025"


@dataclass(frozen=True)
class Period:
    key: str
    kind: Literal["month", "quarter", "year"]
    first_day: date
    last_day: date

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def previous(self) -> Period:
        return period_containing(self.first_day - timedelta(days=1), self.kind)


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def parse_period(text: str) -> Period:
    """The period `text` names; its key is the canonical text, without the spaces around
    it, which must not store a score's inputs under a second key (or overflow the column)."""
    match = _PATTERN.fullmatch(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a period: use {PERIOD_HELP}")
    year = int(match["year"])
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise ValueError(
            f"'{text}' is outside the years {EARLIEST_YEAR}-{LATEST_YEAR}: use {PERIOD_HELP}"
        )
    if match["month"]:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise ValueError(f"'{text}' has no month {month}: use {PERIOD_HELP}")
        return Period(match[0], "month", date(year, month, 1), _month_end(year, month))
    if match["quarter"]:
        quarter = int(match["quarter"])
        first = date(year, 3 * quarter - 2, 1)
        return Period(match[0], "quarter", first, _month_end(year, 3 * quarter))
    return Period(match[0], "year", date(year, 1, 1), date(year, 12, 31))


def period_containing(day: date, kind: Literal["month", "quarter", "year"]) -> Period:
    if kind == "month":
        return parse_period(f"{day.year}-{day.month:02d}")
    if kind == "quarter":
        return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
    return parse_period(str(day.year))


def periods_of(day: date) -> list[Period]:
    return [period_containing(day, kind) for kind in ("month", "quarter", "year")]


def period_field(text: str, field: str = "period") -> Period:
    """`parse_period` for request input: a bad period is a 422 that names the field."""
    try:
        return parse_period(text)
    except ValueError as exc:
        raise field_error(field, str(exc)) from None


def has_begun(period: Period) -> bool:
    """Whether the period's first day, in Vietnam, has come. D and E are a period's results
    (E entered at its end, D imported from the petition system's), and a report is of what
    happened: a period still to come has neither (audit)."""
    return period.first_day <= local_date(utcnow())


def refuse_unbegun(period: Period, instead: str) -> None:
    """A 422 on `period` for one not begun; `instead` says what to do."""
    if not has_begun(period):
        raise field_error(
            "period",
            f"{period.key} has not begun yet (it starts on {period.first_day.isoformat()}): "
            f"{instead}",
        )


ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def period_words(period: Period, *, inside: bool = False) -> str:
    """'Quý III năm 2025', 'Tháng 8 năm 2025', 'Năm 2025'; `inside` a sentence: 'quý III
    năm 2025'. What people read (a report, an alert e-mail), not the API's '2025-Q3'."""
    year = period.first_day.year
    if period.kind == "quarter":
        text = f"Quý {ROMAN[(period.first_day.month - 1) // 3 + 1]} năm {year}"
    elif period.kind == "month":
        text = f"Tháng {period.first_day.month} năm {year}"
    else:
        text = f"Năm {year}"
    return text[0].lower() + text[1:] if inside else text
