"""A real webhook receiver on 127.0.0.1, and an app configured to deliver to it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.delivery.worker import DeliveryWorker
from service.settings import Settings
from tests.conftest import app_for, make_settings
from tests.harness.processes import free_port, http_server


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    """Accepts deliveries; `status` can be set to fail them, `delay` to slow them, `reply`
    to answer a success with other bytes, `on_post` to act (or wait) on the receiver's
    thread before each answer, while the sender waits for it."""

    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    reply: bytes = b"ok"
    content_type: str = "text/plain"
    on_post: Callable[[Received], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.json["type"] == event_type]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            got = Received({k.lower(): v for k, v in self.headers.items()}, body)
            if receiver.on_post is not None:
                receiver.on_post(got)
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.status
            if status < 300:
                with receiver.lock:
                    receiver.received.append(got)
            self.send_response(status)
            self.send_header("content-type", receiver.content_type)
            self.end_headers()
            self.wfile.write(receiver.reply if status < 300 else b"receiver is down")

        def log_message(self, *_: object) -> None:
            return

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    port = free_port()
    receiver = Receiver(url=f"http://127.0.0.1:{port}/hooks")
    with http_server(_handler(receiver), port):
        yield receiver


def webhook_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_allow_networks": "127.0.0.0/8",
        "webhook_retry_base_seconds": 0.05,
        "webhook_retry_max_seconds": 0.2,
        "webhook_timeout_seconds": 5,
    }
    values.update(overrides)
    return make_settings(database_url).model_copy(update=values)


@contextmanager
def hooks(database_url: str, **overrides: Any) -> Iterator[tuple[TestClient, DeliveryWorker]]:
    """The app (worker not embedded, so tests drive it step by step) and a worker, with
    `webhook_settings` and these overrides."""
    settings = webhook_settings(database_url, **overrides)
    app = app_for(settings)
    with TestClient(app) as client:
        yield client, DeliveryWorker(app.state.engine, settings, app.state.profile)


@pytest.fixture
def hook_app(database_url: str) -> Iterator[tuple[TestClient, DeliveryWorker]]:
    with hooks(database_url) as pair:
        yield pair


def drain(
    worker: DeliveryWorker, until: Callable[[], bool] | None = None, seconds: float = 10
) -> None:
    """Run the worker until there is nothing left to do (or `until` holds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        did = worker.run_once()
        if until is not None and until():
            return
        if until is None and did == 0:
            return
        if did == 0:
            time.sleep(0.05)
    raise AssertionError("the worker did not finish in time")
