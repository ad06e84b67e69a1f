"""`hailong kiosk pair`, and the commands taking a row's id, with input the API refuses: the
CLI's error and exit code 2, nothing made, never a traceback (PostgreSQL's DataError, a
blank counter)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from service.models import Counter
from tests.cli_runner import cli_for
from tests.conftest import DbFactory

pytestmark = pytest.mark.usefixtures("agencies")


@pytest.mark.parametrize(
    ("counter", "error"),
    [
        ("", "counter_code: String should have at least 1 character"),
        ("   ", "counter_code: String should have at least 1 character"),
        # Refused with every other argument, before the command runs (tests/cli/test_arguments.py).
        ("Q\x0001", "the argument 'Q\\u000001' must not contain the NUL character (\\u0000)"),
        ("Q" * 65, "counter_code: String should have at most 64 characters"),
    ],
    ids=["empty", "blank", "nul", "too-long"],
)
def test_pair_refuses_a_counter_code_the_api_refuses(
    database_url: str, db: DbFactory, counter: str, error: str
) -> None:
    made = cli_for(database_url)("kiosk", "pair", "--agency", "G22.39", "--counter", counter)
    assert made.exit_code == 2, made.output
    assert made.stderr == f"error: {error}\n"
    assert made.stdout == ""  # no pairing code
    with db() as session:
        assert session.exec(select(Counter)).all() == []


def test_pair_takes_a_counter_code_a_handover_may_name(database_url: str, db: DbFactory) -> None:
    made = cli_for(database_url)("kiosk", "pair", "--agency", "G22.39", "--counter", " Quầy 1 ")
    assert made.exit_code == 0, made.output
    assert "pairing code for counter Quầy 1 of G22.39" in made.stderr
    with db() as session:
        assert [c.code for c in session.exec(select(Counter))] == ["Quầy 1"]


@pytest.mark.parametrize(
    ("command", "row_id"),
    [
        (("kiosk", "unpair"), "0"),
        (("kiosk", "unpair"), str(2**31)),
        (("kiosk", "unpair"), str(2**63)),
        (("keys", "revoke"), str(2**31)),
        (("keys", "rotate"), str(2**31)),
        (("officials", "disable"), str(2**31)),
    ],
)
def test_an_id_no_row_can_have_is_refused_by_its_range(
    database_url: str, command: tuple[str, str], row_id: str
) -> None:
    """PostgreSQL's integer refused 2**31 with a traceback (NumericValueOutOfRange)."""
    result = cli_for(database_url)(*command, row_id)
    assert result.exit_code == 2, result.output
    bound = "greater than or equal to 1" if row_id == "0" else "less than or equal to 2147483647"
    said = " ".join(re.sub("[│╭╮╰╯─]", " ", result.stderr).split())  # the box, unwrapped
    assert "Invalid value for" in said and bound in said, said
    assert "Traceback" not in result.output
