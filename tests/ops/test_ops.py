"""Health, readiness, metrics and request logs."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

import service.app
import service.ops.counters
from service.app import create_app
from service.db import make_engine
from service.models import AuditLog, Invitation, ScoringState
from service.ops.counters import CounterRebuild
from service.ops.observability import UNMATCHED, logged_path, redact
from service.profile import profile_of
from service.scoring.rebuild import REBUILD_LOCK
from service.settings import Settings
from tests.cli_runner import cli_for
from tests.conftest import (
    Backend,
    DbFactory,
    KeyFactory,
    LiveServer,
    free_port,
    handover_body,
    make_settings,
    serve,
)
from tests.surveys.conftest import ANSWERS, issue


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_uptime_monitors_probe_with_head(client: TestClient) -> None:
    """UptimeRobot and others probe with HEAD by default: it was a 405 (contract audit)."""
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.head(path).status_code == 200, path


@pytest.mark.usefixtures("agencies")
@pytest.mark.parametrize(
    "path",
    ["{survey}", "{survey}/thanks", "{survey}/slip", "{survey}/qr.svg", "/m/{short}",
     "/kiosk", "/rankings", "/agencies/G22.39", "/embed/agencies/G22.39", "/static/console.css",
     "/s/not-a-token", "/console/sign-in"],
)  # fmt: skip
def test_head_is_answered_as_get_is_without_the_body(
    client: TestClient, make_key: KeyFactory, path: str
) -> None:
    """RFC 9110 9.3.2: HEAD is GET without its content, and a general-purpose server
    supports both. Every page said 405 to a link checker's HEAD (an SMS gateway's, a chat
    app's preview, `curl -I`), /healthz and /readyz alone answered it (audit)."""
    survey = issue(client, make_key)
    url = path.format(survey=survey.path, short=survey.short_code)
    get = client.get(url, follow_redirects=False)
    head = client.head(url, follow_redirects=False)
    assert head.status_code == get.status_code, url
    assert head.headers.get("content-type") == get.headers.get("content-type")
    assert head.content == b""


@pytest.mark.usefixtures("agencies")
def test_head_does_not_open_a_survey_and_a_post_only_path_is_still_a_405(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    survey = issue(client, make_key)
    assert client.head(survey.path).status_code == 200
    assert client.head(f"/api/v1/surveys/{survey.token}/form").status_code == 200
    with db() as session:
        assert session.exec(select(Invitation.status)).one() == "issued"
    assert client.get(survey.path).status_code == 200
    with db() as session:
        assert session.exec(select(Invitation.status)).one() == "opened"
    refused = client.head("/api/v1/handovers")
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"
    # HEAD carries no body: the sentence is the GET's (tests/web/test_errors.py), of HEAD.
    assert client.get("/api/v1/handovers").json()["detail"].startswith("GET is not allowed")


def test_head_through_the_server_sends_headers_only(live_server: LiveServer) -> None:
    """Through uvicorn: the length a GET would send, and no body after the headers (the
    next request on the connection is read as such)."""
    with httpx.Client(base_url=live_server.url) as http:
        get = http.get("/rankings")
        head = http.head("/rankings")
        again = http.get("/healthz")
    assert head.status_code == 200 and head.content == b""
    assert head.headers.get("content-length") == get.headers.get("content-length")
    assert again.json() == {"status": "ok"}


def test_head_is_counted_as_head_under_its_route(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        client.head("/healthz")
        text = client.get("/metrics").text
    assert 'hailong_http_requests_total{method="HEAD",route="/healthz",status="200"} 1.0' in text


def test_readyz_when_migrated(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_readyz_is_503_on_an_unmigrated_database(tmp_path: object) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/empty.db")
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert (
        "hailong db upgrade" in response.json()["detail"]
        or "not migrated" in response.json()["detail"]
    )


def test_readyz_is_503_while_the_counters_were_built_under_another_profile(
    client: TestClient, db: DbFactory
) -> None:
    with db() as session:
        state = session.get(ScoringState, 1)
        assert state is not None
        state.profile_fingerprint = "0" * 64  # built under another profile
        session.add(state)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "scoring profile" in response.json()["detail"]


@pytest.mark.slow
@pytest.mark.usefixtures("agencies")
def test_a_failed_rebuild_at_start_is_not_ready_and_is_tried_again(
    backend: Backend,
    settings: Settings,
    make_key: KeyFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """(audit) A changed profile's rebuild at start that failed on a migrated database (here
    SQLite's write lock, held by a recompute past busy_timeout) was swallowed as "not
    migrated yet" and never tried again: /readyz said ready while every score came from the
    previous profile's counters."""
    if backend.name != "sqlite":
        pytest.skip("the write lock held from outside is SQLite's")
    with TestClient(create_app(settings)) as client:  # counters built under hcmc-104-2024
        posted = client.post(
            "/api/v1/handovers",
            json=handover_body(supplement_requests=2),
            headers=make_key("issuer"),
        )
        assert posted.status_code == 201, posted.text
    changed = settings.model_copy(update={"scoring_profile": "vn-766"})
    wanted = profile_of(changed).fingerprint()
    monkeypatch.setattr(service.ops.counters, "CHECK_SECONDS", 0.2)
    holder = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
    holder.isolation_level = None
    holder.execute("BEGIN IMMEDIATE")  # e.g. `hailong scores recompute` running meanwhile
    with TestClient(create_app(changed)) as client:  # its rebuild waits 10 s, then fails
        try:
            held = client.get("/readyz")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        deadline = time.monotonic() + 30
        while (ready := client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, ready.json()
            time.sleep(0.1)
    assert held.status_code == 503, held.json()
    assert "could not check or rebuild the score counters for scoring profile vn-766" in (
        caplog.text
    )
    engine = make_engine(changed)
    with Session(engine) as session:
        state = session.get(ScoringState, 1)
    engine.dispose()
    assert state is not None and state.profile_fingerprint == wanted


def test_counters_rebuilt_under_another_profile_by_the_cli_are_rebuilt_back(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(review) `hailong scores recompute` from a shell without the server's
    HAILONG_SCORING_PROFILE_ALSO rebuilt the counters under its own profile: /readyz was
    503 for good (the retries ran only after a failed start), taking handovers and answers
    out of a load balancer's rotation. The server's process rebuilds them back."""
    monkeypatch.setattr(service.ops.counters, "CHECK_SECONDS", 0.1)
    server = make_settings(database_url, scoring_profile_also="tt-01-2018")
    with TestClient(create_app(server)) as client:
        assert client.get("/readyz").status_code == 200
        assert cli_for(database_url)("scores", "recompute").exit_code == 0  # no TT 01
        deadline = time.monotonic() + 20
        while (ready := client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, ready.json()
            time.sleep(0.05)
    # The audit log names who rebuilt them back: no process started (review).
    engine = make_engine(server)
    with Session(engine) as session:
        actors = session.exec(
            select(AuditLog.actor).where(AuditLog.action == "profile.change")
        ).all()
    engine.dispose()
    assert actors[-1:] == ["counter-watch"], actors


@pytest.mark.slow
def test_two_workers_finding_the_counters_built_under_another_log_one_rebuild(
    backend: Backend,
    settings: Settings,
    engine: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two processes of one `serve --workers 2` find the counters built under another
    profile (a CLI recompute); one rebuilds, the other waits for it and finds nothing to do.
    Both log "score counters rebuilt ... they were built under another" (and would on N
    workers, N times), though one rebuild happened: the log says what did not (review)."""
    caplog.set_level(logging.WARNING, logger="hailong.startup")
    profile = profile_of(settings)
    with Session(engine) as session:
        state = session.get(ScoringState, 1) or ScoringState(id=1, profile_fingerprint="")
        state.profile_fingerprint = "0" * 64  # e.g. `hailong scores recompute` elsewhere
        session.add(state)
        session.commit()
    monkeypatch.setattr(service.ops.counters, "CHECK_SECONDS", 0.05)

    # Whatever a rebuild waits for is held, so that both workers have looked first.
    if backend.name == "postgresql":
        holder = engine.connect()
        holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": REBUILD_LOCK})

        def release() -> None:
            holder.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": REBUILD_LOCK})
            holder.commit()
            holder.close()
    else:
        raw = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
        raw.isolation_level = None
        raw.execute("BEGIN IMMEDIATE")

        def release() -> None:
            raw.execute("ROLLBACK")
            raw.close()

    workers = [CounterRebuild(engine, profile) for _ in range(2)]
    for worker in workers:
        worker._thread = threading.Thread(target=worker._watch, daemon=True)
        worker._thread.start()
    time.sleep(1.0)  # both have read the state and wait for the lock
    release()
    deadline = time.monotonic() + 20
    while True:
        with Session(engine) as session:
            now_built = session.get(ScoringState, 1)
            done = now_built is not None and now_built.profile_fingerprint == profile.fingerprint()
        if done:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)  # the second worker's turn
    for worker in workers:
        worker.stop()
    with Session(engine) as session:
        changes = session.exec(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "profile.change")
        ).one()
    logged = [r for r in caplog.records if "score counters rebuilt" in r.getMessage()]
    assert changes == 1  # one rebuild happened
    assert len(logged) == changes, [r.getMessage() for r in logged]


@pytest.mark.servers
def test_a_slow_metrics_scrape_does_not_stall_other_requests(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(audit) /metrics was an `async def`: the webhook backlog's query (or its wait for a
    pooled connection, up to 30 s) ran on the event loop, and every other request of the
    process, /healthz (Docker's HEALTHCHECK) included, waited behind it."""
    entered, release = threading.Event(), threading.Event()

    def slow_backlog(engine: Any) -> dict[str, int]:
        entered.set()  # stands for a query waiting on a busy database or pool
        release.wait(15)
        return {"wh_slow": 3}

    monkeypatch.setattr(service.app, "delivery_backlog", slow_backlog)
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{free_port()}")
    scraped: list[str] = []
    with serve(settings) as live:
        scrape = threading.Thread(
            target=lambda: scraped.append(httpx.get(f"{live.url}/metrics", timeout=30).text),
            daemon=True,
        )
        scrape.start()
        try:
            assert entered.wait(10), "the scrape never read the backlog"
            try:
                health: int | str = httpx.get(f"{live.url}/healthz", timeout=3).status_code
            except httpx.TimeoutException:
                health = "timed out: the event loop was held by the /metrics scrape"
        finally:
            release.set()
            scrape.join(timeout=20)
    assert health == 200
    assert 'hailong_webhook_backlog{subscription="wh_slow"} 3.0' in scraped[0]


@pytest.mark.usefixtures("agencies")
def test_metrics_count_requests_by_route_and_invitations(
    settings: Settings, make_key: KeyFactory
) -> None:
    # An app of its own: the tests' shared app has counted every request before this one.
    with TestClient(create_app(settings)) as client:
        client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))
        client.post("/api/v1/handovers", json={}, headers=make_key("issuer"))
        text = client.get("/metrics").text
    assert (
        'hailong_http_requests_total{method="POST",route="/api/v1/handovers",status="201"} 1.0'
        in text
    )
    assert 'route="/api/v1/handovers",status="422"} 1.0' in text
    assert "hailong_invitations_issued_total 1.0" in text


def test_invented_methods_share_one_metric_series(settings: Settings) -> None:
    """Each label set stays in the registry for ever: a client sending a thousand made-up
    methods must not add a thousand series to the server's memory and to /metrics."""
    with TestClient(create_app(settings)) as client:
        for n in range(30):
            client.request(f"X{n}", "/healthz")
        client.request("GET", "/healthz")
        text = client.get("/metrics").text
    assert 'method="X7"' not in text
    assert 'hailong_http_requests_total{method="OTHER",route="/healthz",status="405"} 30.0' in text
    assert 'hailong_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text


@pytest.mark.usefixtures("agencies")
def test_request_logs_are_json_and_never_carry_tokens(
    database_url: str, make_key: KeyFactory, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(database_url).model_copy(update={"log_requests": True})
    with TestClient(create_app(settings)) as client:
        issued = client.post(
            "/api/v1/handovers", json=handover_body(), headers=make_key("issuer")
        ).json()
        token = issued["survey_url"].rsplit("/", 1)[1]
        answered = client.post(
            "/api/v1/responses",
            json={
                "token": token,
                "answers": {**ANSWERS, "complaint": "Phải chờ lâu", "wants_reply": True},
            },
        ).json()
        logger = logging.getLogger("hailong.request")
        logger.addHandler(caplog.handler)
        followup_token = answered["followup_url"].rsplit("/", 1)[1]
        try:
            client.get(f"/s/{token}/slip")
            client.get(f"/s/{token}/qr.png")
            client.get(f"/p/{followup_token}")  # opens the complaint and its verdict form
        finally:
            logger.removeHandler(caplog.handler)
    records = [json.loads(r.getMessage()) for r in caplog.records]
    assert [r["path"] for r in records] == ["/s/{token}/slip", "/s/{token}/qr.png", "/p/{token}"]
    assert all(r["status"] == 200 and r["ms"] >= 0 for r in records)
    assert token not in caplog.text
    assert followup_token not in caplog.text


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/m/7KQ4M2XD", "/m/{token}"),  # a short code opens the survey too
        ("/u/sTf5UqnHOzsKk-TerNONTAmOXL-U2", "/u/{token}"),  # opts the citizen out
        ("/embed/s/abc123", "/embed/s/{token}"),
        ("/api/v1/surveys/abc123/form", "/api/v1/surveys/{token}/form"),
        ("/s/abc123/thanks", "/s/{token}/thanks"),
        # (audit) Mistyped, no route answers them, and the 404's log line kept the token.
        ("/S/abc123", "/S/{token}"),
        ("//s/abc123", "//s/{token}"),
        ("/s//abc123", "/s/{token}"),
        ("/M/7KQ4M2XD", "/M/{token}"),
        ("/api/v1//surveys/abc123/form", "/api/v1//surveys/{token}/form"),
        ("/api/v1/scores", "/api/v1/scores"),
        ("/static/survey.css", "/static/survey.css"),
    ],
)
def test_every_path_that_carries_a_credential_is_redacted(path: str, logged: str) -> None:
    assert redact(path) == logged


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/s/./abc123TOKEN", "/s/…/…"),
        ("/x/../s/abc123TOKEN", "/x/…/s/…"),
        ("/s;/abc123TOKEN", "/…/…"),
        ("/sTf5UqnHOzsKk-TerNONTAmOXL-U2", "/…"),  # a token typed without its /s/
        ("/7KQ4M2XD", "/…"),  # a short code without its /m/
        ("/static/missing.css", "/static/missing.css"),
        ("/api/v1/handover", "/api/v1/handover"),  # an integrator's typo stays readable
        ("/favicon.ico", "/favicon.ico"),
    ],
)
def test_a_path_no_route_answers_is_logged_by_its_words_of_the_site(path: str, logged: str) -> None:
    """(review) Redacting known prefixes missed /s/./TOKEN, /x/../s/TOKEN and /s;/TOKEN: a
    404's log line keeps the segments that are words of the site, each other one '…'."""
    assert logged_path(UNMATCHED, path) == logged
    assert logged_path("/s/{token}", "/s/abc123TOKEN") == "/s/{token}"
