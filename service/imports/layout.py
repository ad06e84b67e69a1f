"""The files `hailong import` reads: CSV (UTF-8, with or without BOM) or XLSX (its first
sheet), a header row and one record per row.

The column names are the API's field names, taken from the API's own input models (a
nested field is `staff.receiving`, `answers.overall`), so that a field added to the API is
a column of the import without a list kept by hand here:

- dossiers: the handover's fields (POST /api/v1/handovers), and optionally, on the same
  row, the dossier's evaluation (the evaluation columns below but its dossier reference).
- evaluations: `agency_code`, `dossier_code` (a dossier already in hailong), then the
  fields of POST /api/v1/responses that an import sets: `submitted_at` (required),
  `answers.*`, `source`, `client_submission_id`.
- petitions: the fields of POST /api/v1/petitions.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel

from service.csv_cells import other_separator, unreadable_record
from service.handovers.schemas import HandoverCreate
from service.petitions.schemas import PetitionUpsert
from service.surveys.schemas import ResponseCreate

Kind = Literal["dossiers", "evaluations", "petitions"]
KINDS: tuple[Kind, ...] = get_args(Kind)

# Not taken from an older system: a citizen's contact needs the consent given to hailong
# itself; the survey's credential (token, short code) is the import's own dossier
# reference; and an imported complaint opens no follow-up (`wants_reply`).
_NOT_IMPORTED = {"contact", "contact_consent", "token", "short_code", "answers.wants_reply"}


def _columns(model: type[BaseModel], prefix: str = "") -> list[str]:
    names: list[str] = []
    for name, field in model.model_fields.items():
        inner = field.annotation
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            names += _columns(inner, f"{prefix}{name}.")
        elif f"{prefix}{name}" not in _NOT_IMPORTED:
            names.append(f"{prefix}{name}")
    return names


DOSSIER_REF = ["agency_code", "dossier_code"]
HANDOVER_COLUMNS = _columns(HandoverCreate)
EVALUATION_COLUMNS = _columns(ResponseCreate)  # submitted_at, answers.*, source, ...
PETITION_COLUMNS = _columns(PetitionUpsert)
LAYOUTS: dict[Kind, list[str]] = {
    "dossiers": HANDOVER_COLUMNS + EVALUATION_COLUMNS,
    "evaluations": DOSSIER_REF + EVALUATION_COLUMNS,
    "petitions": PETITION_COLUMNS,
}
REQUIRED: dict[Kind, set[str]] = {
    "dossiers": {"dossier_code", "agency_code", "resolved_at"},
    "evaluations": {"agency_code", "dossier_code", "submitted_at"},
    "petitions": {"petition_code", "agency_code", "received_at"},
}


# The key of a record's first value past the header's last column (its column number).
BEYOND_HEADER = "(beyond the header)"
# A spreadsheet number in a code column (the first such column): refused, not turned into
# text, which drops zeros (staff 007 -> 7, beside the 007 the API registered; ward 79.10
# -> 79.1, another ward) with no word (audit).
NUMBER_AS_CODE = "(a number as a code)"
MARKERS = (BEYOND_HEADER, NUMBER_AS_CODE)


def is_code_column(name: str) -> bool:
    """A column holding a code: text however it looks (dossier, agency, procedure, counter,
    petition and staff codes, a submission id)."""
    return name.endswith("_code") or name.startswith("staff.") or name == "client_submission_id"


class FileProblem(Exception):
    """The file as a whole cannot be imported (unreadable, unknown columns): nothing is."""


def detect_kind(header: list[str]) -> Kind:
    """`--kind auto`: petitions name a petition code, dossiers a resolution time, evaluations
    neither."""
    if "petition_code" in header:
        return "petitions"
    if "resolved_at" in header:
        return "dossiers"
    if "submitted_at" in header:
        return "evaluations"
    raise FileProblem(
        "the header names none of petition_code, resolved_at or submitted_at, so the kind of "
        "records is unclear; give --kind dossiers|evaluations|petitions"
    )


def check_header(header: list[str], kind: Kind) -> None:
    known = LAYOUTS[kind]
    problems = []
    unknown = [name for name in header if name not in known]
    if unknown:
        problems.append(
            f"unknown column(s) {', '.join(repr(n) for n in unknown)}; the columns of "
            f"{kind} are: {', '.join(known)}"
        )
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        problems.append(f"column(s) {', '.join(twice)} appear more than once")
    missing = sorted(REQUIRED[kind] - set(header))
    if missing:
        problems.append(f"required column(s) missing: {', '.join(missing)}")
    if problems:
        raise FileProblem("; ".join(problems))


def _cell(value: Any) -> Any:
    """A cell as the API would receive it: text, or (XLSX) a time kept as a time so that a
    naive one is refused as such. Numbers become text (a count, a yes/no); in a code column
    a number is refused instead (NUMBER_AS_CODE), its zeros already lost."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value
    return str(value)


@dataclass
class Table:
    header: list[str]
    rows: Iterator[tuple[int, dict[str, Any]]]  # (row number, 1 = the header; cells by column)
    # XLSX: which sheet was read, said after the file's errors (a workbook whose first sheet
    # holds instructions was "empty", or "give --kind", without a word of sheets; audit).
    read_from: str = ""


def _records(raw: Iterator[tuple[Any, ...] | list[Any]], read_from: str = "") -> Table:
    try:
        first = next(raw)
    except StopIteration:
        raise FileProblem(f"the file is empty: it needs a header row{read_from}") from None
    header = [str(_cell(c) or "") for c in first]
    if (problem := other_separator(header)) is not None:
        raise FileProblem(problem)
    # A sheet's header often runs on into empty (formatted) cells: they name no column.
    while header and not header[-1]:
        header.pop()

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, values in enumerate(raw, start=2):
            cells = [_cell(v) for v in values]
            if all(c is None for c in cells):
                continue  # a blank line (spreadsheets often end with some)
            record = dict(zip(header, cells, strict=False))
            # A value past the last named column was dropped without a word (audit): the
            # row is refused, naming the column, rather than imported without it.
            beyond = [i for i, c in enumerate(cells[len(header) :], len(header) + 1) if c]
            if beyond:
                record[BEYOND_HEADER] = beyond[0]
            numbers = [
                name
                for name, value in zip(header, values, strict=False)
                if isinstance(value, int | float)
                and not isinstance(value, bool)
                and is_code_column(name)
            ]
            if numbers:
                record[NUMBER_AS_CODE] = numbers[0]
            yield number, record

    return Table(header, rows(), read_from)


def open_table(path: Path) -> Table:
    """Read lazily: a million rows never sit in memory."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=False)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise FileProblem(f"{path.name} is not a readable XLSX file ({exc})") from None
        sheet = book.worksheets[0]
        names = ", ".join(f"'{name}'" for name in book.sheetnames)
        read = (
            f"; {path.name} was read from its first sheet, '{sheet.title}' (its sheets: "
            f"{names}): the records must be on the first sheet"
            if len(book.sheetnames) > 1
            else f"; {path.name} was read from its only sheet, '{sheet.title}'"
        )
        lines = _xlsx_lines(path, sheet.title, sheet.iter_rows(values_only=True))
        return _records(_closing(lines, book.close), read)
    handle = path.open(encoding="utf-8-sig", newline="")
    try:
        handle.read(4096)
        handle.seek(0)
    except UnicodeDecodeError:
        handle.close()
        raise FileProblem(f"{path.name} is not UTF-8 text; save it as CSV UTF-8") from None
    # Strict: a quote opened and never closed (an older system's export that did not escape
    # one) made the rest of the file one cell, read without an error: every later row lost
    # and the import reported as done (audit). Now "unexpected end of data", a FileProblem.
    return _records(_closing(_csv_lines(csv.reader(handle, strict=True)), handle.close))


def _closing(lines: Iterator[Any], close: Callable[[], None]) -> Iterator[Any]:
    """The lines, then the file closed: when they run out, when a reader stops early (the
    generator is closed) or when a line cannot be read. The workbook's handle was left open
    until the garbage collector found it (a file still locked on a Windows share)."""
    try:
        yield from lines
    finally:
        close()


# Python's CSV reader stops at a cell over 128 KiB with an error of its own (a traceback out
# of the CLI: audit); a cell this long reaches the columns' own length checks instead, which
# name its row and column.
CSV_CELL_MAX = 16 * 1024 * 1024
csv.field_size_limit(CSV_CELL_MAX)


def _csv_lines(reader: Any) -> Iterator[list[str]]:
    """The reader's lines; a record it cannot read (a cell past CSV_CELL_MAX, a quote never
    closed) is a FileProblem that names the line it began on (csv_cells.unreadable_record)."""
    while True:
        began = reader.line_num + 1
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileProblem(unreadable_record(exc, began, reader.line_num)) from None


def _xlsx_lines(
    path: Path, sheet: str, rows: Iterator[tuple[Any, ...]]
) -> Iterator[tuple[Any, ...]]:
    """The sheet's rows; a row openpyxl cannot read (a control character as an XML
    reference, text in a number cell, a shared string that is not there) is a FileProblem
    that names it, not a traceback (audit)."""
    number = 0
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # openpyxl raises many kinds (ParseError, ValueError, ...)
            raise FileProblem(
                f"{path.name}, sheet '{sheet}': row {number + 1} cannot be read ({exc}); open "
                "the file in a spreadsheet, correct that row and save it again"
            ) from None
        number += 1
        yield row
