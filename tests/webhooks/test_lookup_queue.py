"""URL checks run at most URL_CHECKS_AT_ONCE at a time: the ninth of nine subscriptions to
hosts that never resolve waited a whole lookup for a free check, then one of its own, and was
answered after 14 s, past the Python client's 10 s (review): the wait counts in the lookup's
time."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory

CLIENT_TIMEOUT = 10.0  # clients/python's default


@pytest.mark.slow
def test_a_ninth_subscription_to_a_silent_host_is_answered_within_a_clients_timeout(
    database_url: str, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.app import create_app
    from service.webhooks import service, targets
    from tests.webhooks.conftest import webhook_settings

    release = threading.Event()

    def hanging(host: str, port: int) -> list[Any]:
        release.wait(40)
        return []

    monkeypatch.setattr(targets, "resolve", hanging)
    app = create_app(webhook_settings(database_url, webhook_timeout_seconds=10))
    admin = make_key("admin")
    count = service.URL_CHECKS_AT_ONCE + 1
    try:
        with TestClient(app) as client:

            def subscribe(n: int) -> tuple[int, float]:
                started = time.monotonic()
                answer = client.post(
                    "/api/v1/webhooks",
                    json={"url": f"https://silent{n}.example.vn/h", "events": ["score.updated"]},
                    headers=admin,
                )
                return answer.status_code, time.monotonic() - started

            with ThreadPoolExecutor(count) as pool:
                results = list(pool.map(subscribe, range(count)))
    finally:
        release.set()
    assert all(status == 422 for status, _ in results), results
    slowest = max(took for _, took in results)
    assert slowest < CLIENT_TIMEOUT, results
