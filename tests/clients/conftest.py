"""The real app on 127.0.0.1 for the clients, with webhooks allowed to a local receiver.

`live_server` (tests/conftest.py) refuses loopback webhook targets, as production does;
`hailong_server` allows 127.0.0.0/8 so a real receiver here can take deliveries, which
the tests drive with a DeliveryWorker step by step (no embedded worker).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest
import sqlalchemy as sa
import uvicorn
from hailong_client import AsyncHailongClient, HailongClient

from service.admin.agencies import upsert_agency
from service.admin.keys import create_key
from service.app import create_app
from service.db import make_engine, transaction
from service.delivery.worker import DeliveryWorker
from service.profile import Profile
from service.settings import Settings
from tests.conftest import free_port, make_settings

GUESS_LIMIT = 3
AGENCIES = [
    ("79", "Thành phố Hồ Chí Minh", None),
    ("79.BTH", "Phường Bến Thành", "79"),
    ("79.SGN", "Phường Sài Gòn", "79"),
    ("79.STP", "Sở Tư pháp", "79"),
    ("G22.39", "UBND Phường Tân Định", "79"),
]


@dataclass
class HailongServer:
    url: str
    settings: Settings
    engine: sa.Engine
    profile: Profile

    def key(self, role: str, agency: str | None = None) -> str:
        """A fresh raw API key."""
        with transaction(self.engine) as session:
            _, raw = create_key(
                session, role=role, name=f"client test {role}", agency_code=agency, actor="test"
            )
        return raw

    def add_agencies(self) -> None:
        """The agencies of tests/conftest.py's `agencies` fixture (for tests without it)."""
        with transaction(self.engine) as session:
            for code, name, parent in AGENCIES:
                upsert_agency(session, code, name, parent, actor="test")

    def deliver(self, seconds: float = 10) -> None:
        """Run a webhook worker until it has nothing left to do now."""
        worker = DeliveryWorker(self.engine, self.settings, self.profile)
        deadline = time.monotonic() + seconds
        try:
            while worker.run_once():
                if time.monotonic() > deadline:
                    raise AssertionError("the webhook worker did not finish in time")
        finally:
            worker.client.close()


@pytest.fixture
def hailong_server(database_url: str) -> Iterator[HailongServer]:
    port = free_port()
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{port}").model_copy(
        update={
            "webhook_allow_networks": "127.0.0.0/8",
            "webhook_timeout_seconds": 5,
            "guess_limit": GUESS_LIMIT,
        }
    )
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start within 10 s")
        time.sleep(0.02)
    engine = make_engine(settings)
    hailong = HailongServer(f"http://127.0.0.1:{port}", settings, engine, app.state.profile)
    yield hailong
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


# -- the same scenario through the sync and the async client --------------------------------
class _AsyncAsSync:
    """Drives an AsyncHailongClient through the sync interface, on one event loop."""

    def __init__(self, client: AsyncHailongClient, runner: asyncio.Runner) -> None:
        self._client = client
        self._runner = runner

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._runner.run(method(*args, **kwargs))

        return call


Connect = Callable[..., HailongClient]


@pytest.fixture(params=["sync", "async"])
def connect(request: pytest.FixtureRequest, hailong_server: HailongServer) -> Iterator[Connect]:
    """connect(api_key) -> a client; under "async" every call goes through
    AsyncHailongClient (typed as HailongClient: the two have the same methods)."""
    closers: list[Callable[[], None]] = []
    runner = asyncio.Runner()

    def make(api_key: str | None = None) -> HailongClient:
        if request.param == "sync":
            client = HailongClient(hailong_server.url, api_key)
            closers.append(client.close)
            return client
        async_client = AsyncHailongClient(hailong_server.url, api_key)
        closers.append(lambda: runner.run(async_client.aclose()))
        return cast(HailongClient, _AsyncAsSync(async_client, runner))

    yield make
    for close in closers:
        close()
    runner.close()


# -- a webhook receiver ---------------------------------------------------------------------
@dataclass
class Delivered:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    received: list[Delivered] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    port = free_port()
    receiver = Receiver(url=f"http://127.0.0.1:{port}/hooks/hailong")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if receiver.status < 300:
                receiver.received.append(Delivered(dict(self.headers.items()), body))
            self.send_response(receiver.status)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    # Polled every 50 ms: shutdown() waits for the next poll (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


__all__ = ["Connect", "Delivered", "HailongServer", "Receiver"]
