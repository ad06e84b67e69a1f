"""CSV cells a spreadsheet reads as text, for every export (scores, the audit log), and the
header of a CSV saved with another separator and a line the reader refused, for every
import.

A module of its own, below the domains, so that any of them can write or read a CSV."""

from __future__ import annotations

import re
from typing import Any

# A spreadsheet takes a cell starting with one of these as a formula (OWASP "CSV
# injection"): an agency named "=HYPERLINK(...)" must stay a name in every export.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel under Vietnamese Windows' list separator opens a comma-separated file by splitting
# each line at ';': "Cấp phép;=cmd|..." (a procedure name, a citizen's comment, an agency's
# name) became two cells, the second a formula the leading-character escape never saw
# (reports audit). So a formula start after a ';' (or a tab or line break) is escaped too.
FORMULA_AFTER_BREAK = re.compile(r"([;\t\r\n])([=+\-@])")


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS):
        value = "'" + value  # what spreadsheets themselves write to keep a text as text
    return FORMULA_AFTER_BREAK.sub(r"\1'\2", value)


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


def unreadable_record(error: Exception, began: int, failed: int) -> str:
    """Why a record of a CSV read strictly cannot be read, for the person who will correct
    the file: where its record began (a quote never closed makes the reader give up only at
    the end of the file) and what to look for. Read leniently, such a record swallowed the
    rest of the file into one cell without a word (imports audit)."""
    where = f"line {began}" if began >= failed else f"the record that begins on line {began}"
    return (
        f'{where} cannot be read as CSV ({error}): check its quotes ("): a quoted cell ends '
        "with a quote right before a comma or the end of the line, and a quote inside it is "
        "written twice; or a cell is too long"
    )
