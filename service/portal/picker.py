"""Periods offered by the public pages' picker, and the numbers they print.

Labels are made in the templates (they need gettext); this module only says which periods
exist and what their parts are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from babel.dates import format_date

from service.calendar.working_days import LOCAL_TZ
from service.periods import Period, parse_period, period_containing

QUARTERS_OFFERED = 8
MONTHS_OFFERED = 12
YEARS_OFFERED = 3


@dataclass(frozen=True)
class PeriodName:
    """A period in parts a template can word: kind, year, and the month or quarter number."""

    key: str
    kind: str
    year: int
    number: int  # month 1-12, quarter 1-4, 0 for a year


def today_local() -> date:
    return datetime.now(LOCAL_TZ).date()


def default_period(today: date | None = None) -> Period:
    """The current quarter in Asia/Ho_Chi_Minh."""
    return period_containing(today or today_local(), "quarter")


def name_of(period: Period) -> PeriodName:
    first = period.first_day
    number = {"month": first.month, "quarter": (first.month - 1) // 3 + 1, "year": 0}
    return PeriodName(period.key, period.kind, first.year, number[period.kind])


def _back(last: Period, count: int) -> list[Period]:
    found = [last]
    while len(found) < count:
        found.append(found[-1].previous())
    return found


def choices(selected: Period, today: date | None = None) -> dict[str, list[PeriodName]]:
    """Recent quarters, months and years, newest first; the selected one always among them."""
    day = today or today_local()
    offered = {
        "quarter": _back(period_containing(day, "quarter"), QUARTERS_OFFERED),
        "month": _back(period_containing(day, "month"), MONTHS_OFFERED),
        "year": _back(period_containing(day, "year"), YEARS_OFFERED),
    }
    if selected not in offered[selected.kind]:
        offered[selected.kind].append(selected)
        offered[selected.kind].sort(key=lambda p: p.first_day, reverse=True)
    return {kind: [name_of(p) for p in periods] for kind, periods in offered.items()}


def parse_or_default(text: str | None, today: date | None = None) -> Period:
    """The period asked for; the current quarter when none is. ValueError when invalid."""
    if text is None or not text.strip():
        return default_period(today)
    return parse_period(text.strip())


def day(value: date | None, lang: str) -> str:
    """07/10/2025 in Vietnamese; in English "Oct 7, 2025": 07/10/2025 read as 10 July there
    (public pages audit)."""
    if value is None:
        return "—"
    if lang == "en":
        return format_date(value, "medium", locale="en")
    return value.strftime("%d/%m/%Y")


def count(value: int, lang: str) -> str:
    """12.345 in Vietnamese, 12,345 in English."""
    text = f"{value:,}"
    return text.replace(",", ".") if lang == "vi" else text
