"""`hailong backup FILE` (lifecycle audit): the embedded database runs in WAL mode, and what
was committed last sits in `hailong.db-wal` until a checkpoint, so a copy of `hailong.db`
taken while the server ran opened fine and lacked the day's answers (3 of 3 in this test).
The command's copy has every answer, passes SQLite's integrity check, never overwrites a
file, and says where PostgreSQL's backup is made instead."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from tests.cli_runner import cli_for
from tests.conftest import KeyFactory
from tests.surveys.conftest import ANSWERS, issue

pytestmark = pytest.mark.usefixtures("agencies")


def answers_in(path: Path) -> int:
    with sqlite3.connect(path) as copy:
        count: int = copy.execute("SELECT count(*) FROM response").fetchone()[0]
        return count


def test_a_backup_taken_while_serving_has_every_answer(
    client: TestClient, make_key: KeyFactory, database_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the embedded database's own copy; PostgreSQL: pg_dump (test below)")
    for number in range(3):
        survey = issue(client, make_key, dossier_code=f"BACKUP-{number}")
        body = {"token": survey.token, "answers": ANSWERS}
        assert client.post("/api/v1/responses", json=body).status_code == 201
    live = Path(str(make_url(database_url).database))
    # A reader holding a snapshot keeps SQLite from checkpointing the WAL into the file,
    # as the running server's connections do.
    with engine.connect() as reading:
        reading.exec_driver_sql("BEGIN")
        reading.exec_driver_sql("SELECT count(*) FROM response").fetchone()
        plain = tmp_path / "cp.db"
        shutil.copy(live, plain)
        assert answers_in(plain) < 3  # what `cp` kept: the answers are in the WAL
        out = tmp_path / "backup.db"
        result = cli_for(database_url)("backup", str(out))
        reading.exec_driver_sql("ROLLBACK")
    assert result.exit_code == 0, result.output
    assert answers_in(out) == 3
    assert "3 answers, integrity ok" in result.output and "HAILONG_SECRET_KEY" in result.output
    again = cli_for(database_url)("backup", str(out))
    assert again.exit_code == 2 and "exists already" in again.output
    assert not (tmp_path / "backup.db.partial").exists()


def test_postgresql_is_backed_up_with_pg_dump(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's answer")
    result = cli_for(database_url)("backup", str(tmp_path / "b.db"))
    assert result.exit_code == 2 and "pg_dump" in result.output
