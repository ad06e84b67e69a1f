"""`hailong kiosk pair` and `unpair` with input the API refuses: the CLI's error line and
exit code 2, nothing made, never a traceback (PostgreSQL's DataError, a blank counter)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from service.models import Counter
from tests.cli_runner import cli_for
from tests.conftest import DbFactory

pytestmark = pytest.mark.usefixtures("agencies")


@pytest.mark.parametrize(
    ("counter", "problem"),
    [
        ("", "String should have at least 1 character"),
        ("   ", "String should have at least 1 character"),
        ("Q\x0001", "must not contain the NUL character (\\u0000)"),
        ("Q" * 65, "String should have at most 64 characters"),
    ],
    ids=["empty", "blank", "nul", "too-long"],
)
def test_pair_refuses_a_counter_code_the_api_refuses(
    database_url: str, db: DbFactory, counter: str, problem: str
) -> None:
    made = cli_for(database_url)("kiosk", "pair", "--agency", "G22.39", "--counter", counter)
    assert made.exit_code == 2, made.output
    assert made.stderr == f"error: counter_code: {problem}\n"
    assert made.stdout == ""  # no pairing code
    with db() as session:
        assert session.exec(select(Counter)).all() == []


def test_pair_takes_a_counter_code_a_handover_may_name(database_url: str, db: DbFactory) -> None:
    made = cli_for(database_url)("kiosk", "pair", "--agency", "G22.39", "--counter", " Quầy 1 ")
    assert made.exit_code == 0, made.output
    assert "pairing code for counter Quầy 1 of G22.39" in made.stderr
    with db() as session:
        assert [c.code for c in session.exec(select(Counter))] == ["Quầy 1"]


@pytest.mark.parametrize("device_id", ["0", str(2**31), str(2**63)])
def test_unpair_an_id_no_row_can_have_is_an_error_line(database_url: str, device_id: str) -> None:
    result = cli_for(database_url)("kiosk", "unpair", device_id)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: No paired kiosk has the id {device_id}.\n"
