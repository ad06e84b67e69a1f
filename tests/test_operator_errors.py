"""An operator's mistakes end in one line saying what to do, not in a traceback: a database
never upgraded."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import make_url

from service.delivery.worker import DeliveryWorker
from tests.cli_runner import cli_for
from tests.conftest import WORKER, Backend
from tests.harness.processes import fresh_database

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
