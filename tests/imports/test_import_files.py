"""`hailong import` of a workbook it cannot use as it is: an error sentence naming the file,
the sheet and the row, never a traceback. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from sqlalchemy import func
from sqlmodel import col, select

from service.imports.layout import estimated_records
from service.models import Dossier, Response, Staff
from tests.cli_runner import cli_for
from tests.conftest import DbFactory

pytestmark = pytest.mark.usefixtures("agencies")

HEADER = ["dossier_code", "agency_code", "resolved_at", "supplement_requests"]


def _xlsx_with_sheet_xml(
    path: Path, change: Callable[[bytes], bytes], rows: list[list[Any]] | None = None
) -> Path:
    """A workbook openpyxl writes (`rows`, else HEADER and one record), its sheet's XML then
    changed as another tool (or a damaged copy) would have it."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows or [HEADER, ["X-1", "79.BTH", "2025-09-15T10:00:00+07:00", 3]]:
        sheet.append(row)
    plain = path.with_suffix(".plain.xlsx")
    book.save(plain)
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                changed = change(data)
                assert changed != data, "the sheet's XML is not as this test expects"
                data = changed
            zout.writestr(item, data)
    return path


NUMBER_CELL = b'<c r="D2" t="n"><v>3</v>'


@pytest.mark.parametrize(
    "change",
    [
        # A control character written as an XML character reference (not XML 1.0).
        pytest.param(lambda d: d.replace(b"X-1", b"X&#1;1"), id="control-character-reference"),
        # A number cell holding text.
        pytest.param(
            lambda d: d.replace(NUMBER_CELL, b'<c r="D2" t="n"><v>ba</v>'), id="text-as-number"
        ),
        # A shared string index past the workbook's table of strings.
        pytest.param(
            lambda d: d.replace(NUMBER_CELL, b'<c r="D2" t="s"><v>9</v>'), id="no-such-string"
        ),
    ],
)
def test_a_sheet_row_that_cannot_be_read_is_an_error_naming_file_sheet_and_row(
    change: Callable[[bytes], bytes], tmp_path: Path, database_url: str
) -> None:
    """openpyxl fails only once the rows are read (ParseError, ValueError, IndexError):
    those escaped the import as a traceback."""
    path = _xlsx_with_sheet_xml(tmp_path / "damaged.xlsx", change)
    result = cli_for(database_url)("import", str(path), "--dry-run")
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2, result.output
    assert "error: damaged.xlsx, sheet 'Sheet': row 2 cannot be read (" in said, said


@pytest.mark.parametrize(
    "first_sheet",
    [pytest.param([], id="empty"), pytest.param([["Nhập hồ sơ ở trang 'Hồ sơ'"]], id="notes")],
)
def test_a_workbook_with_its_records_on_another_sheet_is_told_which_sheet_was_read(
    first_sheet: list[list[str]], tmp_path: Path, database_url: str
) -> None:
    """An instructions sheet first (common in templates) got "the file is empty", or "give
    --kind", naming neither the sheet read nor the workbook's other sheets."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Hướng dẫn"
    for line in first_sheet:
        sheet.append(line)
    records = book.create_sheet("Hồ sơ")
    records.append(["dossier_code", "agency_code", "resolved_at"])
    records.append(["X-9", "79.BTH", "2025-09-15T10:00:00+07:00"])
    book.save(path := tmp_path / "template.xlsx")
    result = cli_for(database_url)("import", str(path), "--dry-run")
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2, result.output
    problem = "the file is empty" if not first_sheet else "give --kind"
    assert problem in said, said
    assert (
        "template.xlsx was read from its first sheet, 'Hướng dẫn' (its sheets: 'Hướng dẫn', "
        "'Hồ sơ'): the records must be on the first sheet"
    ) in said, said


def test_an_empty_workbook_of_one_sheet_names_it(tmp_path: Path, database_url: str) -> None:
    """The sheet read is named even when it is the only one."""
    book = Workbook()
    book.save(path := tmp_path / "blank.xlsx")
    result = cli_for(database_url)("import", str(path), "--dry-run")
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2, result.output
    assert "the file is empty" in said and "read from its only sheet, 'Sheet'" in said, said


def _open_handles(path: Path) -> int:
    """How many of this process's file descriptors point at `path` (Linux: /proc)."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if _target(fd) == str(path))


def _target(fd: Path) -> str:
    try:
        return str(fd.readlink())
    except OSError:  # the descriptor closed while the folder was listed
        return ""


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_a_file_read_to_its_end_or_left_early_is_closed(tmp_path: Path, suffix: str) -> None:
    """The workbook's handle stayed open after its rows were read (a file kept locked on a
    share) until the garbage collector found it: the file is closed when its rows run out and
    when a reader stops early."""
    from service.imports.layout import open_table

    path = tmp_path / f"rows.{suffix}"
    if suffix == "xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for row in (["dossier_code", "agency_code"], ["HS-1", "X"], ["HS-2", "X"]):
            sheet.append(row)
        book.save(path)
    else:
        path.write_text("dossier_code,agency_code\nHS-1,X\nHS-2,X\n", encoding="utf-8")

    table = open_table(path)
    assert [number for number, _ in table.rows] == [2, 3]
    assert _open_handles(path) == 0

    early = open_table(path)
    assert next(early.rows)[0] == 2
    assert _open_handles(path) == 1
    early.rows.close()  # type: ignore[attr-defined]
    assert _open_handles(path) == 0


def test_a_quote_never_closed_is_refused_naming_its_line_and_nothing_is_written(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """(audit) An older system's export that did not escape a quote: Python's lenient CSV
    reader made the rest of the file one cell, without an error. `hailong import` said
    "imported 2 row(s)", exit 0: Q-3 and Q-4 never stored, and Q-2's procedure name holding
    the two lines after it."""
    lines = [
        "dossier_code,agency_code,resolved_at,procedure_name",
        "Q-1,79.BTH,2025-09-15T10:00:00+07:00,Khai sinh",
        'Q-2,79.BTH,2025-09-15T10:00:00+07:00,"Cấp bản sao trích lục',
        "Q-3,79.BTH,2025-09-15T10:00:00+07:00,Khai tử",
        "Q-4,79.BTH,2025-09-15T10:00:00+07:00,Kết hôn",
    ]
    path = tmp_path / "past.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 2, result.output
    assert "the record that begins on line 3 cannot be read as CSV" in result.output
    assert "check its quotes" in result.output
    with db() as session:
        assert session.exec(select(Dossier)).all() == []


def test_text_after_a_closing_quote_is_refused_with_what_to_look_for(
    tmp_path: Path, database_url: str
) -> None:
    """(review) '"Khai sinh" ' (a space after the closing quote), read leniently as
    'Khai sinh ', is refused by the strict reader: the message says what to check, not that a
    quote was never closed."""
    path = tmp_path / "past.csv"
    path.write_text(
        "dossier_code,agency_code,resolved_at,procedure_name\n"
        'Q-1,79.BTH,2025-09-15T10:00:00+07:00,"Khai sinh" \n',
        encoding="utf-8",
    )
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 2, result.output
    assert "line 2 cannot be read as CSV" in result.output
    assert "a quoted cell ends with a quote right before a comma" in result.output


@pytest.mark.parametrize(
    "dimension", [b'<dimension ref="A1:D3"/>', b'<dimension ref="A1"/>'], ids=["A1:D3", "A1"]
)
def test_a_workbook_whose_recorded_range_is_short_of_its_data_loses_no_row_or_column(
    dimension: bytes, tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """(audit) Read-only mode trusted the sheet's `<dimension ref=...>`: a workbook whose
    writer left it short of the data (a tool that appends rows, or writes a fixed one) lost
    every row and column past it without a word, the import reported as done."""
    header = [*HEADER[:3], "submitted_at", "answers.overall"]
    records = [
        [f"DIM-{n}", "79.BTH", "2025-09-15T10:00:00+07:00", "2025-09-16T09:00:00+07:00",
         "unsatisfied"]
        for n in range(1, 6)
    ]  # fmt: skip
    path = _xlsx_with_sheet_xml(
        tmp_path / "past.xlsx",
        lambda d: d.replace(b'<dimension ref="A1:E6"/>', dimension),
        [header, *records],
    )
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 0, result.output
    with db() as session:
        dossiers = session.execute(select(func.count()).select_from(Dossier)).scalar_one()
        unsatisfied = session.execute(
            select(func.count()).select_from(Response).where(Response.overall == "unsatisfied")
        ).scalar_one()
    assert (dossiers, unsatisfied) == (5, 5), result.output


def _time_of_day(cell: Any) -> None:
    cell.value = time(10, 0)
    cell.number_format = "hh:mm"


@pytest.mark.parametrize(
    ("fill", "said"),
    [
        pytest.param(
            lambda cell: setattr(cell, "value", ArrayFormula("D2:D2", "=TRIM(E2:E2)")),
            "holds an array formula (=TRIM(E2:E2)), not a value",
            id="array-formula",
        ),
        # (imports audit) A plain formula (a name looked up with VLOOKUP) was read as its
        # text, and in a column of people's words, which keep a leading "=", stored so.
        pytest.param(
            lambda cell: setattr(cell, "value", "=VLOOKUP(A2,Sheet2!A:B,2,FALSE)"),
            "holds a formula (=VLOOKUP(A2,Sheet2!A:B,2,FALSE)), not a value",
            id="formula",
        ),
        pytest.param(
            lambda cell: setattr(cell, "value", DataTableFormula("D2:D2", r1="E1")),
            "holds a data table formula",
            id="data-table-formula",
        ),
        pytest.param(_time_of_day, "holds a time of day without a date", id="time-of-day"),
        # (imports audit) Refused with the API's words for a naive time, which did not say
        # the cell was a spreadsheet date, nor what to do about it in the spreadsheet.
        pytest.param(
            lambda cell: setattr(cell, "value", datetime(2025, 9, 15, 10, 0)),
            "holds a spreadsheet date (2025-09-15 10:00), which carries no time zone offset: "
            "format the column as Text",
            id="date",
        ),
    ],
)
def test_a_cell_holding_no_value_is_refused_naming_it_not_stored_as_python_text(
    fill: Callable[[Any], None], said: str, tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """(audit) An array formula (what Excel 365 saves for a dynamic-array formula in its
    anchor cell) is an object to openpyxl, which the import turned into its Python text:
    "<openpyxl.worksheet.formula.ArrayFormula object at 0x...>" stored as the procedure name.
    A cell of a kind the import does not read is refused, naming its row and column."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([*HEADER[:3], "procedure_name"])
    sheet.append(["AF-1", "79.BTH", "2025-09-15T10:00:00+07:00", None])
    fill(sheet["D2"])
    book.save(path := tmp_path / "past.xlsx")

    result = cli_for(database_url)("import", str(path))

    with db() as session:
        assert session.exec(select(Dossier)).all() == []
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert f"row 2, procedure_name: {said}" in output, output
    assert "openpyxl" not in output and "object at" not in output, output


def test_a_spreadsheet_error_cell_is_refused_not_registered_as_a_staff_code(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """(audit) A spreadsheet error cell (#N/A: a VLOOKUP that found nothing, pasted as
    values) was read as the text "#N/A": in a staff column it registered an officer "#N/A"
    under the agency, who collected every such dossier and got per-staff scores."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([*HEADER[:3], "staff.handling"])
    sheet.append(["NA-1", "79.BTH", "2025-09-15T10:00:00+07:00", "#N/A"])
    sheet.append(["NA-2", "79.BTH", "2025-09-15T10:00:00+07:00", "#N/A"])
    book.save(path := tmp_path / "past.xlsx")
    assert sheet["D2"].data_type == "e"  # an error cell, not text

    result = cli_for(database_url)("import", str(path))

    with db() as session:
        assert list(session.execute(select(col(Staff.code))).scalars()) == []
        assert session.exec(select(Dossier)).all() == []
    said = " ".join(result.output.split())
    assert result.exit_code == 1, said
    assert "row 2, staff.handling: holds a spreadsheet error (#N/A), not a value" in said, said


def test_a_spreadsheet_error_in_the_header_is_refused_naming_its_column(
    tmp_path: Path, database_url: str
) -> None:
    """(audit) A header cell holding an error is not read as a column named "#REF!"."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([*HEADER[:3], "#REF!"])
    sheet.append(["NA-1", "79.BTH", "2025-09-15T10:00:00+07:00", "Khai sinh"])
    book.save(path := tmp_path / "past.xlsx")

    result = cli_for(database_url)("import", str(path), "--dry-run")

    said = " ".join(result.stderr.split())
    assert result.exit_code == 2, result.output
    assert "the header's column D holds a spreadsheet error (#REF!), not a value" in said, said


def test_the_records_to_check_are_estimated_without_reading_a_row(tmp_path: Path) -> None:
    """The checking step's total (imports audit): a CSV's line breaks less its header, the
    last line with or without its break; an XLSX sheet's recorded range."""
    csv_file = tmp_path / "rows.csv"
    csv_file.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n3,4\n")
    assert estimated_records(csv_file) == 2
    csv_file.write_bytes(b"a,b\r\n1,2\r\n3,4")  # no break after the last line
    assert estimated_records(csv_file) == 2
    csv_file.write_bytes(b"")
    assert estimated_records(csv_file) == 0
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["a", "b"], [1, 2], [3, 4], [5, 6]):
        sheet.append(row)
    book.save(tmp_path / "rows.xlsx")
    assert estimated_records(tmp_path / "rows.xlsx") == 3
    assert estimated_records(tmp_path / "missing.csv") is None
