"""`hailong backup` against a real `hailong serve` being written to (every answer acknowledged
before the copy began is in it, consistent), and the operator's mistakes in naming the copy
(review: a missing directory was a traceback)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from tests.conftest import TEST_SECRET, KeyFactory, handover_body
from tests.harness.processes import HailongServer, hailong_command, hailong_env
from tests.surveys.conftest import ANSWERS

pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("agencies")]


def _backup(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hailong_command("backup", *args),
        env=hailong_env(database_url, secret_key=TEST_SECRET),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_backups_taken_while_a_real_server_writes_are_consistent_and_complete(
    database_url: str, make_key: KeyFactory, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the embedded database's own copy")
    issuer = make_key("issuer")
    acknowledged: list[int] = []  # answers acknowledged (201) so far
    stop = threading.Event()
    errors: list[str] = []
    with HailongServer(database_url, tmp_path / "serve.log", secret_key=TEST_SECRET) as server:

        def write() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                n = 0
                while not stop.is_set():
                    n += 1
                    issued = http.post(
                        "/api/v1/handovers",
                        json=handover_body(dossier_code=f"LIVE-{n}"),
                        headers=issuer,
                    )
                    if issued.status_code != 201:
                        errors.append(issued.text)
                        return
                    token = issued.json()["survey_url"].rsplit("/", 1)[1]
                    answered = http.post(
                        "/api/v1/responses", json={"token": token, "answers": ANSWERS}
                    )
                    if answered.status_code != 201:
                        errors.append(answered.text)
                        return
                    acknowledged.append(n)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            copies = []
            for i in range(4):
                before = len(acknowledged)
                out = tmp_path / f"copy{i}.db"
                done = _backup(database_url, tmp_path, str(out))
                assert done.returncode == 0, done.stderr
                copies.append((before, out))
        finally:
            stop.set()
            writer.join(60)
    assert not errors, errors[:3]
    assert acknowledged, "the writer wrote nothing"
    for before, out in copies:
        with sqlite3.connect(out) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert copy.execute("PRAGMA foreign_key_check").fetchall() == []
            answers = copy.execute("SELECT count(*) FROM response").fetchone()[0]
            answered = copy.execute(
                "SELECT count(*) FROM invitation WHERE status = 'answered'"
            ).fetchone()[0]
        assert answers >= before, (answers, before)
        assert answers == answered  # one snapshot: no answer without its invitation's state
    assert not list(tmp_path.glob("*.partial*"))


def test_a_backup_into_a_missing_directory_is_one_line_not_a_traceback(
    database_url: str, tmp_path: Path
) -> None:
    """README ('usage errors'): an operator's mistake is one line and an exit code; naming a
    folder that does not exist (or cannot be written) gave a Rich traceback ending in
    sqlite3's 'unable to open database file'."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL: pg_dump")
    done = _backup(database_url, tmp_path, str(tmp_path / "no-such-folder" / "b.db"))
    assert done.returncode in (1, 2), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_backup_into_a_read_only_directory_is_one_line_not_a_traceback(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL: pg_dump")
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        done = _backup(database_url, tmp_path, str(folder / "b.db"))
    finally:
        folder.chmod(0o755)
    assert done.returncode in (1, 2), done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_a_relative_backup_path_lands_beside_the_working_directory(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL: pg_dump")
    done = _backup(database_url, tmp_path, "rel.db")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "rel.db").exists()
    live = Path(str(make_url(database_url).database))
    assert not (live.parent / "rel.db").exists() or live.parent == tmp_path
