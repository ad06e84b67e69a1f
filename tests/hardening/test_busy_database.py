"""A row lock held a moment too long by another transaction (a handover re-post, an
import's chunk) where the database has a lock_timeout or statement_timeout: a citizen's
answer is a 503 with Retry-After (send again in a moment), never a 500 (API.md: never a 500
for anything a client sent), as SQLite's "database is locked" is (db.BUSY_SQLSTATES).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

import service.scoring.router as scoring_router
from service.settings import Settings
from tests.conftest import KeyFactory, make_settings
from tests.surveys.conftest import ANSWERS, issue

pytestmark = pytest.mark.usefixtures("agencies")

TIMEOUTS = {
    "lock_timeout": "options=-c%20lock_timeout%3D300",
    "statement_timeout": "options=-c%20statement_timeout%3D300",
}


@pytest.fixture(params=sorted(TIMEOUTS))
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL: a lock held by another connection, a server-side timeout")
    return make_settings(f"{database_url}?{TIMEOUTS[request.param]}")


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A 500 as the server sends it, not as an exception raised in the test."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _stored(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM response")).scalar_one())


def test_an_answer_meeting_a_lock_held_too_long_is_a_503_not_a_500(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine
) -> None:
    """(audit) Before: a 500 (db.unreachable knew neither 55P03 nor 57014)."""
    survey = issue(client, make_key)
    body = {
        "token": survey.token,
        "answers": ANSWERS,
        "source": "phone",
        "client_submission_id": "durability-lock-1",
    }
    with engine.connect() as other:
        held = other.begin()
        # What a re-post of the dossier (handovers/one_by_one.py) holds while it runs.
        other.execute(sa.text("SELECT id FROM invitation FOR UPDATE"))
        answered = client.post("/api/v1/responses", json=body)
        held.rollback()

    assert answered.status_code == 503, (answered.status_code, answered.text[:200])
    assert answered.headers.get("Retry-After")
    assert answered.json()["error"] == "service_unavailable"
    assert "too busy" in answered.json()["detail"]
    assert _stored(engine) == 0
    # Sent again once the lock is gone, it is stored.
    assert client.post("/api/v1/responses", json=body).status_code == 201


def test_a_phone_form_meeting_a_lock_held_too_long_is_a_503_not_a_500(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine
) -> None:
    """(audit) Before: a 500, whose error page lost the citizen's typed answers."""
    survey = issue(client, make_key)
    with engine.connect() as other:
        held = other.begin()
        other.execute(sa.text("SELECT id FROM invitation FOR UPDATE"))
        posted = client.post(survey.path, data=ANSWERS, follow_redirects=False)
        held.rollback()

    # A 503's page offers to send the typed answers again (web/errors.py, _resend); a 500's
    # loses them.
    assert posted.status_code == 503, (posted.status_code, posted.text[:200])
    assert posted.headers.get("Retry-After")
    assert _stored(engine) == 0


@pytest.mark.parametrize("settings", ["statement_timeout"], indirect=True)
def test_a_report_past_the_statement_timeout_is_not_told_as_an_unreachable_database(
    client: TestClient,
    make_key: KeyFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """(review) A request the database stops at its statement_timeout every time was told
    "cannot reach its database, send again" and logged as the database unavailable: an
    operator went looking for an outage. It says busy, and what to ask for instead."""
    original = scoring_router._scores

    def slow(session: Session, *args: object) -> object:
        session.execute(sa.text("SELECT pg_sleep(1)"))  # a province-wide report, too long
        return original(session, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(scoring_router, "_scores", slow)
    with caplog.at_level(logging.ERROR):
        answered = client.get("/api/v1/scores?period=2025", headers=make_key("reader"))
    assert answered.status_code == 503
    detail = answered.json()["detail"]
    assert "cannot reach its database" not in detail
    assert "fewer agencies or a shorter period" in detail
    assert "database unavailable" not in caplog.text
    assert "database busy: GET /api/v1/scores" in caplog.text
