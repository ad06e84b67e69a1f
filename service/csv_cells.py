"""CSV cells a spreadsheet reads as text, for every export (scores, the audit log), and the
header of a CSV saved with another separator, for every import.

A module of its own, below the domains, so that any of them can write or read a CSV."""

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


def other_separator(header: list[str]) -> str | None:
    """What is wrong when the header is one column holding ';' or tabs, else None. Excel
    under a regional list separator (Vietnamese Windows) saves "CSV" with semicolons: the
    advice was to give --kind, after which every column was unknown (audit); `hailong
    agencies import` said the columns were missing (audit)."""
    separator = next((sep for sep in (";", "\t") if len(header) == 1 and sep in header[0]), None)
    if separator is None:
        return None
    shown = "';'" if separator == ";" else "tabs"
    return (
        f"the header is one column holding {shown}: the file separates its columns with "
        f"{shown}, not commas; save it as 'CSV UTF-8 (Comma delimited)' and import that"
    )
