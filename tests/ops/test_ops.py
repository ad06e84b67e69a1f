"""Health, readiness, metrics and request logs."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.ops.observability import redact
from service.settings import Settings
from tests.conftest import KeyFactory, handover_body, make_settings
from tests.surveys.conftest import ANSWERS


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_uptime_monitors_probe_with_head(client: TestClient) -> None:
    """UptimeRobot and others probe with HEAD by default: it was a 405 (contract audit)."""
    for path in ("/healthz", "/readyz"):
        assert client.head(path).status_code == 200, path


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
        ("/api/v1/scores", "/api/v1/scores"),
        ("/static/survey.css", "/static/survey.css"),
    ],
)
def test_every_path_that_carries_a_credential_is_redacted(path: str, logged: str) -> None:
    assert redact(path) == logged
