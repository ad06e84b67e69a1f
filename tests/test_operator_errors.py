"""An operator's mistakes end in one line saying what to do, not in a traceback: a database
never upgraded, a setting's value out of range."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from pydantic import ValidationError
from sqlalchemy import make_url

from service.delivery.worker import DeliveryWorker
from tests.cli_runner import cli_for
from tests.conftest import WORKER, Backend
from tests.harness.processes import fresh_database

HAILONG = Path(sys.executable).parent / "hailong"
NOT_SET_UP = "is not set up (or not upgraded): run `hailong db upgrade`"


@pytest.fixture
def empty_url(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """A database nobody ran `hailong db upgrade` on: a new SQLite file, a new PostgreSQL
    database."""
    if backend.name == "sqlite":
        yield f"sqlite:///{tmp_path}/new.db"
        return
    with fresh_database(f"hailong_test_{WORKER}_{os.getpid()}_empty") as url:
        yield url


@pytest.mark.parametrize(
    "command",
    [("keys", "list"), ("demo",), ("kiosk", "devices"), ("import", __file__)],
    ids=["keys list", "demo", "kiosk devices", "import"],
)
def test_a_command_on_a_database_never_upgraded_says_to_upgrade(
    empty_url: str, command: tuple[str, ...]
) -> None:
    result = cli_for(empty_url)(*command)
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [f"error: the database at {empty_url} {NOT_SET_UP}"]


def test_db_upgrade_sets_up_a_new_database_then_commands_work(empty_url: str) -> None:
    cli = cli_for(empty_url)
    assert cli("db", "upgrade").exit_code == 0
    listed = cli("keys", "list")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.startswith("ID")
    assert listed.stderr == ""  # nothing logged by the check (a logging error, it was)


def test_serve_and_worker_refuse_a_database_never_upgraded(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` started anyway and answered every request with a 500."""
    started: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: started.append("serve"))
    monkeypatch.setattr(DeliveryWorker, "run_forever", lambda *_: started.append("worker"))
    cli = cli_for(empty_url)
    for command in ("serve", "worker"):
        result = cli(command)
        assert result.exit_code == 1, result.output
        assert NOT_SET_UP in result.stderr
    assert started == []


def test_the_message_never_shows_the_database_password(backend: Backend, empty_url: str) -> None:
    if backend.name == "sqlite":
        pytest.skip("a SQLite URL has no password")
    url = make_url(empty_url).set(password="s3cret")  # trust auth: any password will do
    result = cli_for(url.render_as_string(hide_password=False))("keys", "list")
    assert result.exit_code == 1, result.output
    assert "s3cret" not in result.output and "***" in result.stderr


def test_a_setting_out_of_range_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    """It was a long traceback naming pydantic's field (invitation_ttl_days)."""
    env = {
        **os.environ,
        "HAILONG_DATABASE_URL": f"sqlite:///{tmp_path}/h.db",
        "HAILONG_INVITATION_TTL_DAYS": "0",
        "HAILONG_GUESS_LIMIT": "many",
    }
    done = subprocess.run(
        [str(HAILONG), "keys", "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "Invalid setting HAILONG_INVITATION_TTL_DAYS=0: Input should be greater than or equal to 1",
        "Invalid setting HAILONG_GUESS_LIMIT=many: Input should be a valid integer, unable to "
        "parse string as an integer",
    ]
    assert not (tmp_path / "h.db").exists()


def test_a_check_across_settings_is_one_line_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAILONG_CONSOLE_KEY_SIGN_IN", "false")
    result = cli_for("sqlite://")("keys", "list")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "Invalid settings: HAILONG_CONSOLE_KEY_SIGN_IN is false and no HAILONG_OIDC_ISSUER is "
        "set: nobody could sign in to the console"
    ]


def test_a_secret_value_refused_is_not_printed() -> None:
    from service.settings import setting_problems

    refused = ValidationError.from_exception_data(
        "Settings",
        [
            {
                "type": "string_too_short",
                "loc": ("secret_key",),
                "input": "hunter2",
                "ctx": {"min_length": 32},
            }
        ],
    )
    assert setting_problems(refused) == [
        "Invalid setting HAILONG_SECRET_KEY: String should have at least 32 characters"
    ]
