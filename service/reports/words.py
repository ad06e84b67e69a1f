"""The report's Vietnamese: periods and dates in words, groups, and the plain-words sentences
of the public pages (templates/portal/_words.html), rendered here without HTML."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any, SupportsFloat

from markupsafe import Markup

from service.numbers import number
from service.periods import Period
from service.portal import picker
from service.portal.plain_words import Fact
from service.templating import make_templates
from service.web.pages import words as page_words

GROUPS = {
    "hai_long": "Hài lòng",
    "khong_hai_long": "Không hài lòng",
    "chua_du_du_lieu": "Chưa đủ dữ liệu",
}
COMPONENTS = {
    "a": "A (giải quyết đúng hẹn)",
    "b": "B (bổ sung hồ sơ)",
    "c": "C (thái độ cán bộ)",
    "d": "D (xử lý phản ánh, kiến nghị)",
    "e": "E (công khai thủ tục)",
    "group5": "Nhóm 5 (Quyết định 766/QĐ-TTg)",
}


def num(value: SupportsFloat | Fraction | Decimal | None, places: int = 2) -> str:
    """A score as people read it (service/numbers.py): '21,43', '—' when there is none. A
    score's exact fraction where there is one (reports/data.py)."""
    return number(value, "vi", places)


def count(value: int) -> str:
    """A count as the pages write it (service/portal/picker.count): '12.345', not '12345'."""
    return picker.count(value, "vi")


def days_late(working_days: int) -> str:
    """How late a petition is, in working days after its deadline's day. Handled (or still
    open) later on that same day, or on the days off after it, is late to the score
    (handled after the deadline instant) yet no working day late: "0 ngày" beside
    "quá hạn" read as a contradiction (audit)."""
    if working_days < 1:
        return "dưới 1 ngày"
    return f"{count(working_days)} ngày"


def kind_words(period: Period) -> str:
    return {"month": "tháng", "quarter": "quý", "year": "năm"}[period.kind]


def date_words(day: date) -> str:
    """'ngày 04 tháng 12 năm 2026': a zero before days under 10 and months under 3, as
    Decree 30/2020/NĐ-CP (appendix I) writes the date of an administrative document."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def group_words(group: str) -> str:
    return GROUPS.get(group, group)


def k_change(delta: Decimal | None) -> str:
    """ "+0,52", "-1,3", "0" or "—" (no K in one of the two periods)."""
    if delta is None:
        return "—"
    if delta > 0:
        return "+" + num(delta)
    if delta < 0:
        return "-" + num(-delta)
    return "0"


# An agency's name before the unit it governs ("Ủy ban nhân dân tỉnh Đồng Nai"): both
# spellings of Ủy, and the abbreviation.
_GOVERNING_BODY = re.compile(r"^(?:ủy ban nhân dân|uỷ ban nhân dân|ubnd)\s+", re.IGNORECASE)
_UNIT_KIND = re.compile(r"^(?:tỉnh|thành phố|tp\.?)\s+", re.IGNORECASE)


def place_name(root_name: str) -> str:
    """The place before a document's date (Decree 30/2020/NĐ-CP, appendix I): the proper
    name of the province or centrally-run city, "Đồng Nai, ngày ...", "Hà Nội, ngày ...",
    but "Thành phố Hồ Chí Minh" whole, as the decree's own example. The report wrote its root
    agency's name: "Ủy ban nhân dân tỉnh Đồng Nai, ngày ..." (reports audit). A name in
    another shape is written as it is."""
    unit = _GOVERNING_BODY.sub("", root_name.strip())
    proper = _UNIT_KIND.sub("", unit)
    if proper.casefold() == "hồ chí minh":
        return "Thành phố Hồ Chí Minh"
    return proper or root_name


def rank_change(delta: int | None) -> str:
    """A rank that went from 5 to 3 went up 2 places."""
    if delta is None:
        return "—"
    if delta > 0:
        return f"tăng {delta}"
    if delta < 0:
        return f"giảm {-delta}"
    return "giữ nguyên"


@lru_cache(maxsize=1)
def _fact_macro() -> Callable[[Fact], Markup]:
    env = make_templates().env
    module: Any = env.get_template("portal/_words.html").make_module(
        {
            **page_words("vi"),  # as the pages pass them
            "num": lambda value, places=2: num(value, places),
            "count": count,
            "day": lambda value: picker.day(value, "vi"),
        }
    )
    macro: Callable[[Fact], Markup] = module.fact
    return macro


def fact_sentence(fact: Fact) -> str:
    """The public pages' sentence for one fact, as plain text."""
    return Markup(_fact_macro()(fact)).striptags()
