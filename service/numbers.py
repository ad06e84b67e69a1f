"""The one way a score is written for people: public pages, badge, widget and console.

Rule: at most two decimals, rounded down (toward zero) on the value's exact decimal,
trailing zeros dropped; a decimal comma and '.' between thousands in Vietnamese (21,43;
1.234,5), a decimal point and ',' in English. Percentages are the same rule applied to
value × 100 with one decimal.

Why down rather than to nearest: a K of 19.996 would read "20" next to "not satisfied"
(the threshold is 20), and 21.999 would read a perfect "22". Rounded down, a figure on
screen is never more than the score it stands for, so it always agrees with the group.

Exact decimal: scores arrive as floats, which hold 21.435 as 21.434999999999998... .
A float is first read as its shortest decimal (`repr`), then cleaned of binary noise by
rounding half-even to 15 significant digits (what a float holds for sure: its noise sits
in the 16th and 17th), and only then rounded down to the places shown. So 0.7 × 100 reads
70 and 21.435 reads 21,43 however the arithmetic reached it, and a K of 19.9999999995 (a
ratio of large counts) or 19.9999999999999 (a D entered so) still reads 19,99: cleaning
at 12 decimal places rounded the latter up to the threshold, "20" beside "not satisfied"
(figures audit). A `Fraction` or `Decimal` is taken as it is: no noise to clean, and a
Fraction is cut to the places shown in integers (a Decimal division, 28 digits, could round
a fraction a hair under 20 up to it).

Cleaning a float can still round it up across a figure shown: 19.99999999999996 (a K of
3 + 15.99999999999996 + 1, a D the API accepts) reads 20, as 2.9999999999999996 must read 3.
A float cannot say which it is; the fraction a score was decided on can. So whatever prints
a score next to its group prints the fraction (service/portal/views.py; audit).

The API, CSV and XLSX carry the exact values, unrounded (API.md).
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from typing import SupportsFloat

from babel.numbers import format_decimal

PLACES = 2
# The significant digits a float holds for sure; past them is binary noise.
FLOAT_DIGITS = Context(prec=15, rounding=ROUND_HALF_EVEN)
NONE_SHOWN = "—"


def exact_decimal(value: SupportsFloat | Fraction | Decimal) -> Decimal:
    """The decimal a score stands for, free of binary floating-point noise."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    return FLOAT_DIGITS.plus(Decimal(repr(float(value))))


def shown_decimal(value: SupportsFloat | Fraction | Decimal, places: int = PLACES) -> Decimal:
    """The figure people see, as a Decimal: `places` decimals, rounded down."""
    if isinstance(value, Fraction):
        return Decimal(math.trunc(value * 10**places)).scaleb(-places)
    return exact_decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)


def number(
    value: SupportsFloat | Fraction | Decimal | None, lang: str, places: int = PLACES
) -> str:
    """A score for people (see the module's rule); '—' when there is none."""
    if value is None:
        return NONE_SHOWN
    shown = shown_decimal(value, places) + 0  # + 0 turns -0 into 0
    pattern = "#,##0" + ("." + "#" * places if places > 0 else "")
    return format_decimal(shown, format=pattern, locale="en" if lang == "en" else "vi")


def typed(value: SupportsFloat, lang: str) -> str:
    """`value` in every digit of the float as written, as a person types it: for a setting
    (a threshold), which is not rounded down as a score is. Never an exponent (1e-05, which
    a form's field refuses: saving it as shown would fail) nor a negative zero."""
    return _every_digit(Decimal(repr(float(value))), lang)


def typed_percent(value: SupportsFloat, lang: str) -> str:
    """A rate setting (0..1) as a percentage in every digit, as `typed`: a floor of 0.3334
    is '33,34 %', never cut to the '33,3 %' of a rate found below it (alerts audit)."""
    return f"{_every_digit(Decimal(repr(float(value))) * 100, lang)} %"


def _every_digit(value: Decimal, lang: str) -> str:
    digits = format(value + 0, "f")  # + 0 turns -0 into 0
    if "." in digits:
        digits = digits.rstrip("0").removesuffix(".")
    return digits if lang == "en" else digits.replace(".", ",")


def percent(value: SupportsFloat | Fraction | Decimal | None, lang: str) -> str:
    """A rate 0..1 as a percentage with one decimal: 0.6667 → '66,6 %'."""
    if value is None:
        return NONE_SHOWN
    hundred = value * 100 if isinstance(value, Fraction) else exact_decimal(value) * 100
    return f"{number(hundred, lang, 1)} %"
