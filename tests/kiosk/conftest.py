"""Kiosk fixtures: a pairing code, a paired tablet (a client holding the device cookie)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory, handover_body

ANSWERS = {
    "timeliness": "on_time",
    "supplement_requests": "none",
    "staff_attitude": "good",
    "overall": "satisfied",
}


def pairing_code(
    client: TestClient | httpx.Client,
    make_key: KeyFactory,
    counter: str = "Q01",
    agency: str = "G22.39",
) -> str:
    response = client.post(
        "/api/v1/kiosk/pairings",
        json={"agency_code": agency, "counter_code": counter},
        headers=make_key("admin"),
    )
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


def pair(
    client: TestClient | httpx.Client,
    make_key: KeyFactory,
    counter: str = "Q01",
    agency: str = "G22.39",
) -> dict[str, Any]:
    """Pairs `client` (it keeps the device cookie); returns the tablet's state."""
    response = client.post(
        "/kiosk/api/pair", json={"code": pairing_code(client, make_key, counter, agency)}
    )
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def hand_over(
    client: TestClient | httpx.Client, make_key: KeyFactory, **overrides: object
) -> dict[str, Any]:
    """A handover at counter Q01 of G22.39 unless overridden; the API's answer."""
    response = client.post(
        "/api/v1/handovers", json=handover_body(**overrides), headers=make_key("issuer")
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
