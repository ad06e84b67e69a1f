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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
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
# submitted_at, answers.*, source, ...; not the answer's `language` (the API's, for the
# screen a citizen answered on): in a dossiers file that column is the survey's, and an
# older system's evaluation has none (it named the survey's language an evaluation's,
# and every dossiers row with one was refused for want of submitted_at; review).
EVALUATION_COLUMNS = [c for c in _columns(ResponseCreate) if c != "language"]
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
# The cells of a record that hold no value to import (an array formula, a spreadsheet error:
# NotAValue), as (column, reason): stored as Python text, or as "#N/A" (an officer of that
# code registered), they were imported without a word (audit).
NOT_A_VALUE = "(not a value)"
MARKERS = (BEYOND_HEADER, NUMBER_AS_CODE, NOT_A_VALUE)


# People's words, kept as text as the API keeps them (and escaped in every export,
# csv_cells.py): an older system's comment written as a list ("- Cán bộ hẹn nhiều lần")
# was refused as a spreadsheet formula, which the API took (audit).
FREE_TEXT_COLUMNS = frozenset({"answers.complaint", "procedure_name", "outcome"})


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


@dataclass(frozen=True)
class SheetError:
    """An XLSX cell holding a spreadsheet error (its data type "e"), which openpyxl reads as
    the text of its code ("#N/A", "#REF!")."""

    code: str


@dataclass(frozen=True)
class SheetFormula:
    """An XLSX cell holding a formula (its data type "f"), which openpyxl reads, without the
    value it last showed, as the formula's text: in a column of people's words, where text
    starting with "=" is kept, "=VLOOKUP(A2,Sheet2!A:B,2,FALSE)" became a procedure's name
    (imports audit)."""

    text: str


class NotAValue(ValueError):
    """A cell that holds no value to import; `reason` says so, for its row and column."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_PASTE = "copy the cell and paste it as values, or type the value itself"


def _cell(value: Any) -> Any:
    """A cell as the API would receive it: text. Numbers become text (a count, a yes/no); in
    a code column a number is refused instead (NUMBER_AS_CODE), its zeros already lost.
    Anything else is NotAValue: never its Python text ("<openpyxl...ArrayFormula object at
    0x...>", audit), nor a spreadsheet date, which holds no offset (it was refused with the
    API's words for a naive time, which did not say the cell was a date; audit)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    raise NotAValue(_not_a_value(value))


def _not_a_value(value: Any) -> str:
    if isinstance(value, SheetError):
        return (
            f"holds a spreadsheet error ({value.code}), not a value; type the value the cell "
            "should hold, or leave it empty"
        )
    if isinstance(value, SheetFormula):
        text = value.text if len(value.text) <= 60 else f"{value.text[:57]}..."
        return f"holds a formula ({text}), not a value: {_PASTE}"
    if isinstance(value, ArrayFormula):
        text = value.text if len(value.text or "") <= 60 else f"{value.text[:57]}..."
        return f"holds an array formula ({text}), not a value: {_PASTE}"
    if isinstance(value, DataTableFormula):
        return f"holds a data table formula (a what-if table), not a value: {_PASTE}"
    if isinstance(value, datetime | date):
        shown = f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else value.isoformat()
        return (
            f"holds a spreadsheet date ({shown}), which carries no time zone offset: format "
            "the column as Text and type each time with its offset, e.g. "
            "2025-09-15T10:00:00+07:00 (or paste the values as text)"
        )
    if isinstance(value, time):
        kind = f"a time of day without a date ({value.isoformat()})"
    elif isinstance(value, timedelta):
        kind = f"a duration ({value})"
    else:
        kind = f"a spreadsheet object ({type(value).__name__})"
    return f"holds {kind}, not a value hailong reads; format the cell as Text and type the value"


def _cells(values: Iterable[Any]) -> tuple[list[Any], dict[int, str]]:
    """A line's cells (_cell), and the reasons of those that hold no value, by position
    (their cell None)."""
    cells: list[Any] = []
    refused: dict[int, str] = {}
    for value in values:
        try:
            cells.append(_cell(value))
        except NotAValue as exc:
            refused[len(cells)] = exc.reason
            cells.append(None)
    return cells, refused


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
    cells, refused = _cells(first)
    if refused:
        at, reason = next(iter(refused.items()))
        raise FileProblem(f"the header's column {get_column_letter(at + 1)} {reason}{read_from}")
    header = [str(c or "") for c in cells]
    if (problem := other_separator(header)) is not None:
        raise FileProblem(problem)
    # A sheet's header often runs on into empty (formatted) cells: they name no column.
    while header and not header[-1]:
        header.pop()

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, values in enumerate(raw, start=2):
            cells, refused = _cells(values)
            if not refused and all(c is None for c in cells):
                continue  # a blank line (spreadsheets often end with some)
            record = dict(zip(header, cells, strict=False))
            # A value past the last named column was dropped without a word (audit): the
            # row is refused, naming the column, rather than imported without it.
            beyond = [
                i
                for i, c in enumerate(cells[len(header) :], len(header) + 1)
                if c or i - 1 in refused
            ]
            if beyond:
                record[BEYOND_HEADER] = beyond[0]
            if named := [(header[i], why) for i, why in refused.items() if i < len(header)]:
                record[NOT_A_VALUE] = named
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


def estimated_records(path: Path) -> int | None:
    """About how many records follow the header, for the checking step's total and time
    left (it showed neither: imports audit), read without parsing a row: a CSV's line
    breaks (a cell holding some makes it more), an XLSX sheet's recorded range (None where
    it records none). Blank rows make it more too; the step's end says how many were."""
    try:
        if path.suffix.lower() == ".xlsx":
            from openpyxl import load_workbook

            book = load_workbook(path, read_only=True)
            try:
                rows = book.worksheets[0].max_row
            finally:
                book.close()
            return max(0, rows - 1) if rows else None
        breaks, last = 0, b"\n"
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                breaks += block.count(b"\n")
                last = block[-1:]
        return max(0, breaks + (last != b"\n") - 1)
    except Exception:  # only an estimate: reading the file says what is wrong
        return None


def open_table(path: Path) -> Table:
    """Read lazily: a million rows never sit in memory."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=False)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise FileProblem(f"{path.name} is not a readable XLSX file ({exc})") from None
        sheet = book.worksheets[0]
        # Read-only mode trusts the sheet's recorded range (<dimension ref=...>): one recorded
        # short of the data (a tool that appends rows) lost the rows and columns past it
        # without a word (audit). Each row is read to its last cell instead, still streamed.
        sheet.reset_dimensions()
        names = ", ".join(f"'{name}'" for name in book.sheetnames)
        read = (
            f"; {path.name} was read from its first sheet, '{sheet.title}' (its sheets: "
            f"{names}): the records must be on the first sheet"
            if len(book.sheetnames) > 1
            else f"; {path.name} was read from its only sheet, '{sheet.title}'"
        )
        lines = _xlsx_lines(path, sheet.title, sheet.iter_rows())
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


def _xlsx_value(cell: Any) -> Any:
    """A cell's value, an error's as a SheetError and a formula's as a SheetFormula (the
    data type tells them from text such as "#N/A" or "= as agreed")."""
    if cell.value is None:
        return None
    if cell.data_type == "e":
        return SheetError(str(cell.value))
    if cell.data_type == "f" and isinstance(cell.value, str):
        return SheetFormula(cell.value)
    return cell.value


def _xlsx_lines(path: Path, sheet: str, rows: Iterator[tuple[Any, ...]]) -> Iterator[list[Any]]:
    """The values of the sheet's rows of cells, an error cell's as a SheetError (its data
    type, which the values alone lose, tells it from the text "#N/A"); a row openpyxl cannot
    read (a control character as an XML reference, text in a number cell, a shared string
    that is not there) is a FileProblem that names it, not a traceback (audit)."""
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
        yield [_xlsx_value(c) for c in row]
