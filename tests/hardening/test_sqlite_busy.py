"""SQLite's write lock held by another writer (`hailong import`, `hailong scores recompute`)
past the busy timeout: the answer is a 503 "busy, send it again", not "cannot reach its
database", which sent an operator looking for a disk or a file that was there all along."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.settings import Settings
from tests.conftest import KeyFactory
from tests.surveys.conftest import ANSWERS, issue

pytestmark = [pytest.mark.usefixtures("agencies"), pytest.mark.slow]  # waits out the 10 s


@pytest.fixture
def write_lock(settings: Settings) -> Iterator[sqlite3.Connection]:
    """Another process's writer: the file's write lock, taken and held."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock, held by another connection")
    holder = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
    holder.isolation_level = None
    yield holder
    holder.close()


def test_an_answer_meeting_the_write_lock_past_the_busy_timeout_is_told_busy(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    write_lock: sqlite3.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    survey = issue(client, make_key)
    body = {"token": survey.token, "answers": ANSWERS, "client_submission_id": "locked-1"}
    write_lock.execute("BEGIN IMMEDIATE")
    with caplog.at_level(logging.ERROR):
        answered = client.post("/api/v1/responses", json=body)
    write_lock.execute("ROLLBACK")

    assert answered.status_code == 503, answered.text
    assert answered.headers.get("Retry-After")
    assert "too busy" in answered.json()["detail"]
    assert "cannot reach its database" not in answered.json()["detail"]
    assert "database busy: POST /api/v1/responses" in caplog.text
    assert "database unavailable" not in caplog.text
    # Sent again once the other writer is done, it is stored, once.
    assert client.post("/api/v1/responses", json=body).status_code == 201
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM response")).scalar_one() == 1
