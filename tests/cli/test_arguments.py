"""Every text argument of every command is checked as the API checks text (is_storable),
before the command runs: one line and exit code 2, nothing written."""

from __future__ import annotations

import pytest
from sqlmodel import select

from service.models import ApiKey, AuditLog, CalendarOverride, Counter, Official
from tests.cli_runner import cli_for
from tests.conftest import DbFactory

pytestmark = pytest.mark.usefixtures("agencies")

# How Python hands over an argument holding the byte 0xff (a terminal or a script in a
# Windows code page, say): a lone surrogate, which is no UTF-8.
NOT_UTF8 = "a\udcffb"
BELL = "a\x07b"  # a control character documents (and the API) refuse


@pytest.mark.parametrize(
    "args",
    [
        ("keys", "create", "--role", "reader", "--name", NOT_UTF8),
        ("keys", "create", "--role", "reader", "--agency", NOT_UTF8),
        ("officials", "add", "lan@x.vn", "--role", "manager", "--name", NOT_UTF8),
        ("officials", "add", "lan@x.vn", "--role", "manager", "--agency", NOT_UTF8),
        ("calendar", "set", "2025-09-06", "--off", "--note", NOT_UTF8),
        ("kiosk", "pair", "--agency", NOT_UTF8, "--counter", "Q01"),
        ("report", "--parent", NOT_UTF8, "--period", "2025-Q3", "--out", "/tmp/never.pdf"),
    ],
    ids=[
        "keys create --name",
        "keys create --agency",
        "officials add --name",
        "officials add --agency",
        "calendar set --note",
        "kiosk pair --agency",
        "report --parent",
    ],
)
def test_an_argument_that_is_not_utf8_is_one_line_and_writes_nothing(
    database_url: str, db: DbFactory, args: tuple[str, ...]
) -> None:
    """Each of these ended in a traceback (UnicodeEncodeError from the database driver or
    the PDF writer), some after rows had been read or locked."""
    result = cli_for(database_url)(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: the argument 'a\\udcffb' must not contain U+DCFF, half of a character's code "
        "(it is not UTF-8: set the terminal or the script to UTF-8)"
    ]
    with db() as session:
        for table in (ApiKey, Official, CalendarOverride, Counter):
            assert session.exec(select(table)).all() == [], table
        assert set(session.exec(select(AuditLog.actor)).all()) == {"test"}  # the fixture's


@pytest.mark.parametrize(
    "args",
    [
        ("keys", "create", "--role", "reader", "--name", BELL),
        ("officials", "add", "lan@x.vn", "--role", "manager", "--name", BELL),
    ],
    ids=["keys create --name", "officials add --name"],
)
def test_a_control_character_in_a_name_is_refused_as_the_api_refuses_it(
    database_url: str, db: DbFactory, args: tuple[str, ...]
) -> None:
    """Only NUL was refused: a name with U+0007 was stored (the API refuses it, 422), and
    made the audit log's XLSX export fail for every reader."""
    result = cli_for(database_url)(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: the argument 'a\\u0007b' must not contain the control character U+0007"
    ]
    with db() as session:
        assert session.exec(select(ApiKey)).all() == []
        assert session.exec(select(Official)).all() == []


def test_vietnamese_text_and_line_breaks_in_a_note_pass(database_url: str, db: DbFactory) -> None:
    note = "Quyết định 123/QĐ-UBND\nngày nghỉ bù"
    result = cli_for(database_url)("calendar", "set", "2025-09-06", "--off", "--note", note)
    assert result.exit_code == 0, result.output
    with db() as session:
        assert session.exec(select(CalendarOverride.note)).one() == note
