"""Numbers, dates and labels as the console shows them (Vietnamese: 20,5 and 23/11/2026),
and a number as an official types it into a form.

Numbers follow the one rule of `service.numbers`, the same as the public pages."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import SupportsFloat

from service.calendar.working_days import LOCAL_TZ
from service.numbers import number, percent, typed, typed_percent


def local_time(value: datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") if value else "—"


def local_day(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TZ).date()
    return value.strftime("%d/%m/%Y")


def input_time(value: datetime) -> str:
    """The value of an <input type=datetime-local>, in local time."""
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


Figure = SupportsFloat | Fraction | Decimal

# A number as a person types it: digits, then maybe a decimal comma (Vietnamese writes
# 17,5) or point and more digits. float() alone also took "1_0" (saved as 10), "-0" (saved
# and shown back as -0), "1e1", "+5" and other scripts' digits, each saved as some number
# the official never wrote (audit).
# ".5", ",5" and "5." count (float() read them, and an official may type them: review).
PLAIN_NUMBER = re.compile(r"(?=[.,]?[0-9])[0-9]*(?:[.,][0-9]*)?")


def typed_number(text: str) -> float:
    """A number typed into a console form (PLAIN_NUMBER), else ValueError; `plain` writes
    one back the same way."""
    plain = text.strip()
    if not PLAIN_NUMBER.fullmatch(plain):
        raise ValueError(text)
    value = float(plain.replace(",", "."))
    if not math.isfinite(value):  # hundreds of digits
        raise ValueError(text)
    return value


# The kinds of actor that name a person or an office after their id (auth/principal.py).
NAMED_ACTORS = ("key", "official")


def actor_name(actor: str | None) -> str:
    """'key:7:Quản lý Bến Thành' → 'Quản lý Bến Thành' (the key's name, not its id);
    'official:3:Trần Thị Lan' → 'Trần Thị Lan' (the name a value they entered is signed
    with, Principal.signature; the audit log's 'official:3:lan@hcm.gov.vn' → the address
    they sign in with). Anything else (the CLI's 'cli') as it is. Public pages name no
    official at all (portal/plain_words.py): only the console and the report, both keyed."""
    if not actor:
        return "—"
    parts = actor.split(":", 2)
    return parts[2] if len(parts) == 3 and parts[0] in NAMED_ACTORS else actor


class Formatter:
    """Bound to the page's language, handed to templates as `fmt`."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def num(self, value: Figure | None, digits: int = 2) -> str:
        """A score's exact fraction where the page has it (console/service.py): the float of
        a K a hair under the threshold reads as the threshold (service/numbers.py)."""
        return number(value, self.lang, digits)

    def exact(self, value: float) -> str:
        """A number for a form's field, every digit kept (17,333333, not 17,33): sent back
        unchanged, it is the same number (console/inputs_form.py reads either mark)."""
        text = repr(float(value)).removesuffix(".0")
        return text if self.lang == "en" else text.replace(".", ",")

    def plain(self, value: float) -> str:
        """`exact` in the digits a person types, for a field that takes only those (D,
        console/inputs_form.py) and a setting shown as stored (numbers.typed)."""
        return typed(value, self.lang)

    def pct(self, value: Figure | None) -> str:
        return percent(value, self.lang)

    def plain_pct(self, value: float) -> str:
        """A rate setting as a percentage in every digit (numbers.typed_percent)."""
        return typed_percent(value, self.lang)

    time = staticmethod(local_time)

    @staticmethod
    def time_text(value: str) -> str:
        """A time stored as ISO 8601 text (an alert's figures), in Vietnam's time: the page
        showed 2025-09-19T10:00:00+00:00 for a deadline of 17:00 (pages audit)."""
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return local_time(moment) if moment.tzinfo is not None else value

    day = staticmethod(local_day)
    actor = staticmethod(actor_name)
