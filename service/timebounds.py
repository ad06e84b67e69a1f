"""The one range of dates the service accepts: 1900-01-01 to 2100-12-31, Vietnam time.

Dates outside it are typing mistakes (year 0001, 9999, a two-digit year) that would
otherwise reach the arithmetic: periods, working-day counts, UTC conversion (which
overflows near year 1 and 9999). Every date or time that comes from a client goes through
`BoundedAwareDatetime` or `BoundedDate`, so it is refused with a 422 naming the field.
The bound is checked on the local (Asia/Ho_Chi_Minh) day, the day periods are cut on, so
every accepted time belongs to a period `parse_period` accepts.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from service.calendar.working_days import LOCAL_TZ

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2100, 12, 31)
EARLIEST_YEAR, LATEST_YEAR = EARLIEST_DAY.year, LATEST_DAY.year
RANGE_HELP = "use a date between 1900-01-01 and 2100-12-31 (Vietnam time)"


class OutOfRange(ValueError):
    pass


def check_day(value: date) -> date:
    """`value` when it lies in the accepted range; OutOfRange (a ValueError) otherwise."""
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise OutOfRange(f"{value.isoformat()} is out of range: {RANGE_HELP}")
    return value


def check_moment(value: datetime) -> datetime:
    """An aware time whose local day lies in the accepted range; OutOfRange otherwise."""
    # Checked on the year first: converting a time near year 1 or 9999 overflows.
    if not EARLIEST_YEAR - 1 <= value.year <= LATEST_YEAR + 1:
        raise OutOfRange(f"year {value.year:04d} is out of range: {RANGE_HELP}")
    local = value.astimezone(LOCAL_TZ) if value.tzinfo is not None else value
    if not EARLIEST_DAY <= local.date() <= LATEST_DAY:
        raise OutOfRange(f"{value.isoformat()} is out of range: {RANGE_HELP}")
    return value


# A client's clock may run a little fast (a one-stop system's, an office computer's).
CLOCK_SKEW = timedelta(hours=1)
# Two machines' clocks that stamp the same dossier may disagree by this much: a kiosk
# tablet's and the server's, an older survey system's and the one-stop system's. An answer
# time this far before what it follows (the survey's issue, the dossier's resolution) is
# taken as the same moment; further is a wrong clock or a typing mistake.
CLOCKS_APART = timedelta(minutes=2)


def check_past(value: datetime) -> datetime:
    """A time that says when something happened (a dossier resolved, a petition received or
    handled, an answer given) has happened: one ahead of now would count in a period, or
    as handled on time, before it did."""
    if value > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("lies in the future; send the time it actually happened")
    return value


# What an ISO 8601 time begins with: a four-digit year, then the month and the day.
_ISO_DAY_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_HELP = "send an ISO 8601 time with its offset, e.g. 2025-09-15T10:00:00+07:00"


def check_iso_text(value: object) -> object:
    """A client's time is ISO 8601 text (API.md). Pydantic would also take a number, or
    a text of digits, as seconds since 1970: a one-stop system sending `20250915` would
    have its dossier resolved on 1970-08-23 and counted there, with a 201. Times built
    in the code, and a spreadsheet's date cells, arrive as date or datetime objects and
    pass (a date then fails as naive, with pydantic's own words)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DAY_PREFIX.match(value.strip()):
        raise ValueError(f"is not a time in ISO 8601: {ISO_HELP}")
    return value


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII: \d takes full-width digits
DAY_HELP = "use YYYY-MM-DD, e.g. 2025-09-02"


def check_day_text(value: object) -> object:
    """A client's date is YYYY-MM-DD text. Pydantic would take a number, or a text of
    digits, as seconds since 1970: PUT /calendar/overrides/0 made 1970-01-01 a day off, and
    `20250906` was refused in words about datetimes (audit). Dates built in the code, and a
    spreadsheet's date cells, arrive as date objects and pass."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise ValueError(f"is not a date: {DAY_HELP}")
    return value


BoundedAwareDatetime = Annotated[
    AwareDatetime, BeforeValidator(check_iso_text), AfterValidator(check_moment)
]
PastMoment = Annotated[BoundedAwareDatetime, AfterValidator(check_past)]
BoundedDate = Annotated[date, BeforeValidator(check_day_text), AfterValidator(check_day)]
