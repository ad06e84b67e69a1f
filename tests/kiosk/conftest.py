"""Kiosk fixtures: a pairing code, a paired tablet (a client holding the device cookie)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, BrowserContext, ViewportSize

from service.calendar.working_days import local_date
from service.models import utcnow
from tests.conftest import KeyFactory, LiveServer, free_port, handover_body, make_settings, serve

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


def period_of_now() -> str:
    """The year an answer given now is scored in: Vietnam's, a day ahead of UTC's from
    31 December 17:00 UTC (the UTC year read an empty score then: time-zone audit)."""
    return f"{local_date(utcnow()).year}"


def hand_over(
    client: TestClient | httpx.Client, make_key: KeyFactory, **overrides: object
) -> dict[str, Any]:
    """A handover at counter Q01 of G22.39 unless overridden; the API's answer. Handed
    over now (no handed_over_at, unless given): the contract's example was handed over in
    September 2025, too long ago for a tablet to offer it."""
    overrides.setdefault("handed_over_at", None)
    response = client.post(
        "/api/v1/handovers", json=handover_body(**overrides), headers=make_key("issuer")
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# -- the tablet in Chromium (test_kiosk_browser.py, test_kiosk_followup_browser.py) ----------
TABLET: ViewportSize = {"width": 800, "height": 1280}
IDLE_SECONDS = 6  # the idle reset, short so the tests see it


@pytest.fixture
def kiosk_server(database_url: str) -> Iterator[LiveServer]:
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{free_port()}")
    with serve(settings.model_copy(update={"kiosk_idle_seconds": IDLE_SECONDS})) as live:
        yield live


@pytest.fixture
def api(kiosk_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=kiosk_server.url) as client:
        yield client


def tablet_context(browser: Browser, url: str, **extra: Any) -> BrowserContext:
    """A counter tablet: 800×1280, touch, Vietnamese, Vietnam's time, serving `url`."""
    context = browser.new_context(
        viewport=TABLET,
        has_touch=True,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        base_url=url,
        **extra,
    )
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def tablet(browser: Browser, kiosk_server: LiveServer) -> Iterator[BrowserContext]:
    context = tablet_context(browser, kiosk_server.url)
    yield context
    context.close()
