"""Fifty simultaneous submissions of one survey make exactly one response."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import func, select

from service.models import Response
from tests.conftest import KeyFactory, LiveServer, handover_body
from tests.surveys.conftest import ANSWERS

pytestmark = pytest.mark.usefixtures("agencies")


def test_fifty_concurrent_submissions_one_response(
    live_server: LiveServer, make_key: KeyFactory
) -> None:
    issued = httpx.post(
        f"{live_server.url}/api/v1/handovers", json=handover_body(), headers=make_key("issuer")
    ).json()
    token = issued["survey_url"].rsplit("/", 1)[1]

    def submit(i: int) -> int:
        body = {
            "token": token,
            "answers": ANSWERS,
            "source": "phone",
            "client_submission_id": f"device-{i}",
        }
        return httpx.post(f"{live_server.url}/api/v1/responses", json=body, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(submit, range(50)))
    assert sorted(statuses) == [201] + [409] * 49, statuses
    with live_server.session() as session:
        assert session.exec(select(func.count()).select_from(Response)).one() == 1


def test_same_submission_retried_concurrently_is_one_response(
    live_server: LiveServer, make_key: KeyFactory
) -> None:
    """A kiosk that resends after a timeout must get 200, never 409, for its own answer."""
    issued = httpx.post(
        f"{live_server.url}/api/v1/handovers", json=handover_body(), headers=make_key("issuer")
    ).json()
    body = {
        "short_code": issued["short_code"],
        "answers": ANSWERS,
        "source": "kiosk",
        "client_submission_id": "kiosk-retry-1",
    }

    def submit(_: int) -> tuple[int, int]:
        r = httpx.post(f"{live_server.url}/api/v1/responses", json=body, timeout=30)
        return r.status_code, r.json()["response_id"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(submit, range(20)))
    assert sorted(s for s, _ in results) == [200] * 19 + [201]
    assert len({rid for _, rid in results}) == 1
