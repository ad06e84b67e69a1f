"""Geometry of the SVG badge (the words are chosen in templates/portal/badge_svg.html).

An SVG in an <img> cannot measure its own text, so widths are estimated from per-character
advances of Verdana at 11 px and then pinned with `textLength`: whatever font the viewer
has, the text fills exactly the box drawn for it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

HEIGHT = 20
PADDING = 6
DEFAULT_ADVANCE = 7.0
# Verdana advances at 11 px (rounded); letters with Vietnamese marks take their base letter's.
_ADVANCES = {
    **dict.fromkeys("ijl|!.,:;'", 3.3),
    **dict.fromkeys("frt()[]/ ", 4.5),
    **dict.fromkeys("abcdeghknopqsuvxyz", 6.6),
    **dict.fromkeys("0123456789", 7.0),
    **dict.fromkeys("ABCEFJKLPRSTVXYZ", 7.4),
    **dict.fromkeys("DGHNOQU", 8.3),
    **dict.fromkeys("mMw", 10.0),
    "W": 11.3,
    "–": 7.0,
    "—": 11.0,
    "·": 4.5,
    "✓": 8.5,
    "✗": 8.5,
    "?": 6.0,
    "Đ": 8.3,
    "đ": 6.6,
}


def text_width(text: str) -> float:
    width = 0.0
    for char in text:
        advance = _ADVANCES.get(char)
        if advance is None:
            base = unicodedata.normalize("NFD", char)[:1]
            advance = _ADVANCES.get(base, DEFAULT_ADVANCE)
        width += advance
    return round(width, 1)


@dataclass(frozen=True)
class BadgeLayout:
    width: float
    height: int
    left_width: float
    right_width: float
    left_text_x: float
    right_text_x: float
    left_text_length: float
    right_text_length: float
    text_y: float


def layout(left: str, right: str) -> BadgeLayout:
    left_text, right_text = text_width(left), text_width(right)
    left_width = left_text + 2 * PADDING
    right_width = right_text + 2 * PADDING
    return BadgeLayout(
        width=left_width + right_width,
        height=HEIGHT,
        left_width=left_width,
        right_width=right_width,
        left_text_x=left_width / 2,
        right_text_x=left_width + right_width / 2,
        left_text_length=left_text,
        right_text_length=right_text,
        text_y=14,
    )
