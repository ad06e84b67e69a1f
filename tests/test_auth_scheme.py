"""An API key counts only as `Authorization: Bearer <key>` (API.md). The same valid key
under another scheme is refused everywhere, also once the key is remembered (key cache)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")

# (method, path, body): routes of different routers, each open to an admin key.
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/agencies", None),
    ("GET", "/api/v1/scores?period=2025-Q3", None),
    ("GET", "/api/v1/scores.csv?period=2025-Q3", None),
    ("GET", "/api/v1/webhooks", None),
    ("GET", "/api/v1/kiosk/devices", None),
    ("GET", "/api/v1/calendar/overrides/2025-09-02", None),
    ("POST", "/api/v1/handovers", handover_body()),
]


def _raw(make_key: KeyFactory) -> str:
    return make_key("admin")["Authorization"].removeprefix("Bearer ")


def _call(client: TestClient, method: str, path: str, body: Any, authorization: str) -> int:
    response = client.request(method, path, json=body, headers={"Authorization": authorization})
    if response.status_code == 401:
        assert response.json()["error"] == "unauthorized", response.text
        assert response.headers["www-authenticate"] == "Bearer"
    status: int = response.status_code
    return status


@pytest.mark.parametrize(
    "scheme", ["Basic", "Token", "basic-base64", "no scheme"], ids=lambda s: s.replace(" ", "_")
)
def test_a_valid_key_under_another_scheme_is_refused_even_once_remembered(
    client: TestClient, make_key: KeyFactory, scheme: str
) -> None:
    raw = _raw(make_key)
    if scheme == "basic-base64":  # what an HTTP library sends for user "<key>", no password
        wrong = "Basic " + base64.b64encode(f"{raw}:".encode()).decode()
    elif scheme == "no scheme":
        wrong = raw
    else:
        wrong = f"{scheme} {raw}"
    for method, path, body in ROUTES:
        # Before the key is remembered, then after a Bearer call has put it in the cache.
        assert _call(client, method, path, body, wrong) == 401, (path, "not cached")
        assert _call(client, method, path, body, f"Bearer {raw}") in (200, 201), path
        assert _call(client, method, path, body, wrong) == 401, (path, "cached")


def test_the_json_answer_route_refuses_a_key_under_another_scheme(
    client: TestClient, make_key: KeyFactory
) -> None:
    # POST /api/v1/responses takes an optional key: a key sent wrongly is refused, not ignored.
    raw = _raw(make_key)
    body = {"token": "x" * 43, "answers": {}}
    assert client.get("/api/v1/agencies", headers={"Authorization": f"Bearer {raw}"}).is_success
    wrong = {"Authorization": f"Basic {raw}"}
    response = client.post("/api/v1/responses", json=body, headers=wrong)
    assert response.status_code == 401, response.text


def test_the_scheme_name_is_case_insensitive(client: TestClient, make_key: KeyFactory) -> None:
    raw = _raw(make_key)
    for scheme in ("bearer", "BEARER"):
        response = client.get("/api/v1/agencies", headers={"Authorization": f"{scheme} {raw}"})
        assert response.status_code == 200, response.text
