"""Free text from citizens and managers, cleaned of invisible direction controls.

Bidirectional embedding, override and isolate controls (U+202A..U+202E, U+2066..U+2069)
and the direction marks (U+200E, U+200F, U+061C) are invisible, yet one U+202E turns the
rest of a line around: a comment could make itself, or the dossier code printed after
it, read backwards in the console. Vietnamese text never needs them, and Arabic or Hebrew
text still shows right-to-left without them, so they are removed on input. Text stored
before this rule is isolated where it is shown (`dir="auto"` in the templates).
"""

from __future__ import annotations

import re

BIDI_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def strip_bidi_controls(text: str) -> str:
    return BIDI_CONTROLS.sub("", text)


def clean_optional(text: str | None) -> str | None:
    return None if text is None else strip_bidi_controls(text)
