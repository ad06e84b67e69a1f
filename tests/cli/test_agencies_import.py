"""`hailong agencies import` of a file it cannot read as it is: a sentence naming what to
change and exit 2, never a traceback. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from service.admin.agencies import _csv_records
from service.errors import InvalidInput
from service.models import Agency
from tests.cli_runner import cli_for
from tests.conftest import DbFactory

pytestmark = pytest.mark.usefixtures("agencies")


def _codes(db: DbFactory) -> set[str]:
    with db() as session:
        return set(session.exec(select(Agency.code)).all())


def test_a_file_not_in_utf8_is_told_to_be_saved_as_csv_utf8(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """Excel's plain "CSV" on Windows is in the Windows code page: the command ended in a
    UnicodeDecodeError traceback."""
    before = _codes(db)
    path = tmp_path / "agencies.csv"
    text = unicodedata.normalize("NFD", "code,name,parent_code\r\n79.Q1,Bình Thạnh,79\r\n")
    path.write_bytes(text.encode("cp1258"))
    result = cli_for(database_url)("agencies", "import", str(path))
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2, result.output
    assert said == "error: agencies.csv is not UTF-8 text; save it as CSV UTF-8", said
    assert _codes(db) == before


@pytest.fixture
def default_csv_field_limit() -> Iterator[int]:
    """Python's own limit on a CSV cell (128 KiB), as in a process that never imported the
    bulk import (which raises it for itself)."""
    before = csv.field_size_limit(128 * 1024)
    try:
        yield 128 * 1024
    finally:
        csv.field_size_limit(before)


def test_a_cell_past_the_csv_readers_limit_is_a_field_error_naming_its_line(
    default_csv_field_limit: int, tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """The CSV reader stops at a cell over its limit with csv.Error, which escaped the
    command as a traceback."""
    before = _codes(db)
    path = tmp_path / "agencies.csv"
    cell = "x" * (default_csv_field_limit + 1)
    path.write_text(f"code,name,parent_code\r\n79.Q1,Quận 1,79\r\n79.Q2,{cell},79\r\n", "utf-8")
    result = cli_for(database_url)("agencies", "import", str(path))
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2, result.output
    assert said.startswith("error: line 3: cannot be read as CSV (field larger than"), said
    assert _codes(db) == before  # nor the line before it


def test_empty_rows_at_the_end_of_an_agencies_csv_are_ignored(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """A sheet whose formatting runs past its last row is saved by Excel with rows of commas
    (",,"): `hailong import` ignores them, `agencies import` refused the whole file (audit)."""
    path = tmp_path / "agencies.csv"
    path.write_bytes(
        "\ufeffcode,name,parent_code\r\n79.Q3,Quận 3,79\r\n79.Q4,Quận 4,79\r\n,,\r\n,,\r\n".encode()
    )
    result = cli_for(database_url)("agencies", "import", str(path))
    assert result.exit_code == 0, result.output
    assert {"79.Q3", "79.Q4"} <= _codes(db)


def test_a_refused_line_is_named_by_its_line_past_blank_ones(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """Line numbers are the file's: counting records named the line before a blank one."""
    path = tmp_path / "agencies.csv"
    path.write_text("code,name,parent_code\n79.Q3,Quận 3,79\n\n,,\n79.X,X,NOPE\n", "utf-8")
    result = cli_for(database_url)("agencies", "import", str(path))
    assert result.exit_code == 2, result.output
    assert "line 5: parent_code" in result.stderr, result.stderr


def test_an_agencies_csv_separated_by_semicolons_is_told_so(
    tmp_path: Path, database_url: str
) -> None:
    """Excel under a Vietnamese list separator saves "CSV" with ';': it was told "missing:
    code, name, parent_code", where `hailong import` names the separator (audit)."""
    path = tmp_path / "agencies.csv"
    path.write_bytes("code;name;parent_code\r\n79.Q3;Quận 3;79\r\n".encode())
    result = cli_for(database_url)("agencies", "import", str(path))
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.split())
    assert "separates its columns with ';', not commas" in said, said


def test_a_header_with_spaces_after_the_commas_is_read(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """A header typed "code, name, parent_code" (a space after each comma) was refused as
    missing name and parent_code (audit)."""
    path = tmp_path / "agencies.csv"
    path.write_text("code, name, parent_code\r\n79.Q5,Quận 5,79\r\n", "utf-8")
    result = cli_for(database_url)("agencies", "import", str(path))
    assert result.exit_code == 0, result.output
    with db() as session:
        added = session.exec(select(Agency).where(Agency.code == "79.Q5")).one()
    assert (added.name, added.path) == ("Quận 5", "/79/79.Q5/")


def test_the_summary_says_how_many_agencies_moved(tmp_path: Path, database_url: str) -> None:
    """A move takes an agency's subtree out of the scopes above its old place: the summary
    said only "1 updated" of a sheet that moved a ward (admin audit)."""
    path = tmp_path / "agencies.csv"
    path.write_text("code,name,parent_code\n79.BTH,Phường Bến Thành,79.SGN\n", encoding="utf-8")
    result = cli_for(database_url)("agencies", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "imported agencies: 0 added, 1 updated (1 moved to another parent), 0 unchanged"
    )


def test_a_quote_never_closed_makes_no_agency(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """(audit) The lenient CSV reader swallowed the parent column into the name: the ward
    79.Q2 was made a top-level agency named 'Quận 2,79', outside every key of province 79."""
    path = tmp_path / "agencies.csv"
    path.write_text('code,name,parent_code\n79.Q2,"Quận 2,79\n80,Tỉnh khác,\n', encoding="utf-8")
    result = cli_for(database_url)("agencies", "import", str(path))
    assert result.exit_code == 2, result.output
    assert "the record that begins on line 2: cannot be read as CSV" in result.output
    with db() as session:
        assert session.exec(select(Agency).where(Agency.code == "79.Q2")).first() is None


def test_a_header_the_strict_reader_refuses_is_a_sentence_not_a_traceback(
    tmp_path: Path, database_url: str
) -> None:
    """(review) Text after a header's closing quote: an UnboundLocalError traceback."""
    path = tmp_path / "agencies.csv"
    path.write_text('code,"name" x,parent_code\n79.Q2,Quận 2,79\n', encoding="utf-8")
    result = cli_for(database_url)("agencies", "import", str(path))
    assert result.exit_code == 2, result.output
    assert "line 1: cannot be read as CSV" in result.output


def test_blank_lines_before_a_refused_record_do_not_move_the_line_named() -> None:
    """(review) The DictReader skipped blank lines inside its own step: a record refused on
    line 5 was said to begin on line 3, the first blank line."""
    text = 'code,name,parent_code\n79.Q1,Q1,79\n\n\n79.Q2,"Quận 2,79\n80,X,\n'
    with pytest.raises(InvalidInput) as caught:
        _csv_records(text)
    assert caught.value.fields[0]["field"] == "the record that begins on line 5"


def test_a_comma_not_in_quotes_inside_a_name_refuses_the_file_naming_its_line(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """(review) An unquoted comma in a name split it: the rest of the name was taken for the
    parent code and the real one dropped without a word (here refused as an unknown parent,
    which sent the operator looking for an agency 'Quận 1'); now the line is named with the
    value past the header, and nothing of the file is imported, as for any refused line."""
    before = _codes(db)
    path = tmp_path / "agencies.csv"
    path.write_text(
        "code,name,parent_code\n79.Q7,Quận 7,79\n79.PBT,Phường Bến Thành, Quận 1,79\n", "utf-8"
    )
    result = cli_for(database_url)("agencies", "import", str(path))
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2, result.output
    assert said.startswith(
        "error: line 3: has a value in column D (4), past the header's last column "
        "(C, parent_code): a cell holding a comma must be in quotes"
    ), said
    assert _codes(db) == before


@pytest.mark.parametrize(
    ("header", "line"),
    [
        # The name last: the words after its comma were dropped, the agency imported.
        ("code,parent_code,name", "79.PBT,79,Phường Bến Thành, Quận 1"),
        # A header running on into empty cells (Excel's formatted columns): a value under
        # one was kept under a column with no name, and dropped.
        ("code,name,parent_code,,", "79.PBT,Phường Bến Thành,79,Quận 1,"),
    ],
)
def test_a_value_past_the_headers_named_columns_is_refused_not_dropped(
    header: str, line: str, tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """(review) A value past the header's last named column was dropped without a word: an
    agency was imported under a name cut at its comma."""
    path = tmp_path / "agencies.csv"
    path.write_text(f"{header}\n{line}\n", "utf-8")
    result = cli_for(database_url)("agencies", "import", str(path))
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2, result.output
    assert said.startswith("error: line 2: has a value in column D (4)"), said
    assert "79.PBT" not in _codes(db)


def test_empty_cells_past_the_header_are_read_as_nothing(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """(review) A sheet saved with formatted empty columns ends each line with commas: those
    empty cells are no values past the header, and the file imports."""
    path = tmp_path / "agencies.csv"
    path.write_text("code,name,parent_code,,\n79.Q7,Quận 7,79,,\n79.Q8,Quận 8,79,, \n", "utf-8")
    result = cli_for(database_url)("agencies", "import", str(path))
    assert result.exit_code == 0, result.output
    assert {"79.Q7", "79.Q8"} <= _codes(db)


def test_an_agency_code_on_two_lines_is_refused_not_applied_in_some_order(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """A sheet copied together from two lists named 79.NEW on two lines: both were applied,
    the one waiting for its parent last, so the first line decided the ward's name and place
    (moving it, with its subtree, out of every scope above its old place), and the file was
    read "successfully". A code listed twice is refused naming its lines, nothing written
    (imports audit)."""
    path = tmp_path / "agencies.csv"
    path.write_text(
        "code,name,parent_code\n"
        "79.NEW,Phường Mới (cũ),79.ZONE\n"  # waits for 79.ZONE, so it is applied last
        "79.NEW,Phường Mới,79.SGN\n"
        "79.ZONE,Khu vực,79\n",
        encoding="utf-8",
    )

    result = cli_for(database_url)("agencies", "import", str(path))

    with db() as session:
        new = session.exec(select(Agency).where(Agency.code == "79.NEW")).first()
    placed = None if new is None else (new.name, new.path)
    assert result.exit_code != 0, (result.output, placed)
    said = " ".join(result.output.split())
    assert "line 3: code: '79.NEW' is on line 2 too: list each agency once" in said, said
    assert new is None, placed
