"""A row lock held a moment too long by another transaction (a handover re-post, an
import's chunk) where the database has a lock_timeout or statement_timeout: a citizen's
answer is a 503 with Retry-After (send again in a moment), never a 500 (API.md: never a 500
for anything a client sent), as SQLite's "database is locked" is (db.busy).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

import service.reports.service as report_service
import service.scoring.router as scoring_router
from service.settings import Settings
from tests.conftest import KeyFactory, make_settings
from tests.console.conftest import ConsoleClient, raw_key
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


# What the busy page says, in each language: (heading, sentence). The outage 503's heading
# and its "what you sent was not saved" must not appear where nothing was sent.
OUTAGE = {"vi": "Hệ thống tạm thời gián đoạn", "en": "The service is briefly unavailable"}
BUSY = {"vi": "Cơ sở dữ liệu đang bận", "en": "The database is busy"}
NOT_SAVED = {"vi": "chưa được lưu", "en": "not saved"}
OFFICIALS_ADVICE = {
    "vi": "hãy chọn ít đơn vị hơn hoặc khoảng thời gian ngắn hơn",
    "en": "choose fewer agencies or a shorter period",
}
CITIZENS_ADVICE = {
    "vi": "Những gì ông/bà vừa gửi chưa được lưu. Vui lòng gửi lại sau ít giây.",
    "en": "What you just sent was not saved. Please send it again in a few seconds.",
}
SEND_AGAIN = {"vi": ">Gửi lại</button>", "en": ">Send again</button>"}


def _hidden(page: str) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return {unescape(name): unescape(value) for name, value in fields}


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("settings", ["statement_timeout"], indirect=True)
def test_a_console_report_past_the_statement_timeout_is_not_told_as_an_outage(
    client: TestClient, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    """(review) A console report stopped at the statement_timeout was headed "the service is
    briefly unavailable" and told "what you sent was not saved, send it again in a few
    seconds" (a GET sent nothing, and the same report meets the same timeout); the advice
    that helps was only in the English detail line. The page says busy, and what to ask for
    instead, in the official's language."""
    original = report_service.gather_for

    def slow(session: Session, *args: Any) -> object:
        session.execute(sa.text("SELECT pg_sleep(1)"))  # a city-wide report, too long
        return original(session, *args)

    monkeypatch.setattr(report_service, "gather_for", slow)
    console = ConsoleClient(client)
    console.sign_in(raw_key(make_key("manager", agency="79")))
    page = console.get(f"/console/a/79/report?format=docx&lang={lang}")
    assert page.status_code == 503 and page.headers.get("Retry-After")
    assert f'<html lang="{lang}">' in page.text
    assert BUSY[lang] in page.text
    assert OFFICIALS_ADVICE[lang] in page.text
    assert "ask for fewer agencies or a shorter period" in page.text  # the English line
    assert OUTAGE[lang] not in page.text
    assert NOT_SAVED[lang] not in page.text


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_phone_form_meeting_a_lock_held_too_long_says_busy_and_keeps_the_answers(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine, lang: str
) -> None:
    """(review) A citizen's answers stopped at a lock held too long were headed "the service
    is briefly unavailable", with the officials' advice on large reports and exports, which
    means nothing to a citizen. The page says busy and "send again in a few seconds", in the
    citizen's language, and still offers the typed answers to send again."""
    survey = issue(client, make_key, language=lang)
    form = {**ANSWERS, "lang": lang}
    with engine.connect() as other:
        held = other.begin()
        other.execute(sa.text("SELECT id FROM invitation FOR UPDATE"))
        page = client.post(survey.path, data=form, follow_redirects=False)
        held.rollback()

    assert page.status_code == 503 and page.headers.get("Retry-After")
    assert f'<html lang="{lang}">' in page.text
    assert BUSY[lang] in page.text
    assert CITIZENS_ADVICE[lang] in page.text
    assert OUTAGE[lang] not in page.text
    assert OFFICIALS_ADVICE[lang] not in page.text
    assert "fewer agencies" not in page.text  # nor in the English detail line
    assert f'action="{survey.path}"' in page.text and SEND_AGAIN[lang] in page.text
    assert _hidden(page.text) == form
    sent_again = client.post(survey.path, data=_hidden(page.text), follow_redirects=False)
    assert sent_again.status_code == 303, sent_again.text[:300]
    assert _stored(engine) == 1
