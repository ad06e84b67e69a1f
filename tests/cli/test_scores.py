"""`hailong scores recompute` and `hailong calendar set`: what an operator types."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from service.models import AuditLog, CalendarOverride
from tests.cli_runner import cli_for
from tests.conftest import DbFactory

pytestmark = pytest.mark.usefixtures("agencies")


def test_an_empty_period_is_refused_not_taken_for_every_period(
    database_url: str, db: DbFactory
) -> None:
    """`--period ""` (a script's unset variable) was taken for no period: every period's
    counters were rebuilt, and the output said "all periods"."""
    result = cli_for(database_url)("scores", "recompute", "--period", "")
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
    assert "rebuilt" not in result.stdout
    with db() as session:
        recomputed = select(AuditLog).where(col(AuditLog.action) == "scores.recompute")
        assert session.exec(recomputed).all() == []


def test_a_period_recomputes_that_period(database_url: str) -> None:
    result = cli_for(database_url)("scores", "recompute", "--period", "2025-Q3")
    assert result.exit_code == 0, result.output
    assert "for period 2025-Q3" in result.stdout


def test_a_recompute_says_each_step_as_it_begins(database_url: str) -> None:
    """A year's millions of rows take minutes in one transaction, and the command said
    nothing until it ended: the operator could not tell a long run from a hung one."""
    result = cli_for(database_url)("scores", "recompute")
    assert result.exit_code == 0, result.output
    steps = [line.split(" (")[0] for line in result.stderr.splitlines()]
    assert steps == [f"step {n} of 4" for n in range(1, 5)]
    assert "the dossiers' facts" in result.stderr and "to announce" in result.stderr
    assert result.stdout.startswith("rebuilt ")  # what a script reads stays on stdout


def test_a_note_the_column_cannot_hold_is_a_field_error(database_url: str, db: DbFactory) -> None:
    """A 300-character note reached the database unchecked: a traceback on PostgreSQL
    (varchar(255)), stored whole on SQLite; the API's PUT refuses it (note: 1-255)."""
    note = "n" * 256
    result = cli_for(database_url)("calendar", "set", "2025-09-06", "--off", "--note", note)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == ["error: note: give a note of at most 255 characters"]
    with db() as session:
        assert session.exec(select(CalendarOverride)).all() == []


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_note_is_no_note(database_url: str, db: DbFactory, blank: str) -> None:
    """The API always took "" for no note; the CLI's check made it a refusal (review)."""
    result = cli_for(database_url)("calendar", "set", "2025-09-06", "--off", "--note", blank)
    assert result.exit_code == 0, result.output
    with db() as session:
        assert session.exec(select(CalendarOverride.note)).one() is None


def test_a_note_of_255_characters_is_kept(database_url: str, db: DbFactory) -> None:
    result = cli_for(database_url)("calendar", "set", "2025-09-06", "--off", "--note", "n" * 255)
    assert result.exit_code == 0, result.output
    with db() as session:
        assert session.exec(select(CalendarOverride.note)).one() == "n" * 255


@pytest.mark.parametrize(
    "flags", [[], ["--off", "--working"], ["--working", "--off"]], ids=["none", "both", "both2"]
)
def test_calendar_set_takes_exactly_one_kind(
    database_url: str, db: DbFactory, flags: list[str]
) -> None:
    """(calendar audit) Without a kind it printed a usage box naming --working alone; with
    both, the last one won and dossiers were re-scored by it. One line, exit 2, no change."""
    result = cli_for(database_url)("calendar", "set", "2025-09-06", *flags)
    assert result.exit_code == 2, result.stdout
    assert result.stderr.strip() == (
        "error: give one of --working (a make-up working day) or --off (a day off)"
    )
    with db() as session:
        assert session.exec(select(CalendarOverride)).first() is None
