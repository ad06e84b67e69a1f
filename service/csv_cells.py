"""CSV cells a spreadsheet reads as text, for every export (scores, the audit log).

A module of its own, below the domains, so that any of them can write a safe CSV."""

from __future__ import annotations

from typing import Any

# A spreadsheet takes a cell starting with one of these as a formula (OWASP "CSV
# injection"): an agency named "=HYPERLINK(...)" must stay a name in every export.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value  # what spreadsheets themselves write to keep a text as text
    return value
