"""Test fixtures: every database test runs on SQLite and on PostgreSQL, each on a clean state.

Schemas are built with Alembic (never create_all). SQLite: one migrated template file, copied
per test. PostgreSQL: one migrated database per run, truncated before each test.

Set HAILONG_TEST_REQUIRE_POSTGRES=1 (CI does) to turn "PostgreSQL unreachable" from a skip
into a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import hypothesis
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.admin.agencies import upsert_agency
from service.admin.keys import create_key
from service.app import create_app
from service.db import make_engine, transaction
from service.migrations import upgrade
from service.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "HAILONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("HAILONG_TEST_REQUIRE_POSTGRES") == "1"
pytest_plugins = ["tests.browser"]

# In CI the property and fuzz tests replay the same examples every run, so a landing is
# never decided by a lucky draw; locally they explore new examples each time.
hypothesis.settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
TEST_SECRET = "test-signing-key-not-for-production"


@dataclass
class Backend:
    name: str
    template_url: str
    reset: Callable[[], str]  # returns the URL of a clean database for one test


def _postgres_backend() -> Iterator[Backend]:
    admin_engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin_engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin_engine.dispose()
        message = (
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} "
            f"({type(exc).__name__}); the PostgreSQL run was skipped"
        )
        if REQUIRE_POSTGRES:
            pytest.fail(message + " but HAILONG_TEST_REQUIRE_POSTGRES=1 demands it")
        pytest.skip(message)
    name = f"hailong_test_{os.getpid()}"
    with admin_engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        tables = [
            r[0]
            for r in connection.execute(
                sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
    truncate = sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")

    def reset() -> str:
        with engine.begin() as connection:
            connection.execute(truncate)
        return url

    yield Backend("postgresql", url, reset)
    engine.dispose()
    with admin_engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


def _sqlite_backend(tmp: Path) -> Iterator[Backend]:
    template = tmp / "template.db"
    upgrade(f"sqlite:///{template}")
    counter = iter(range(1_000_000))

    def reset() -> str:
        path = tmp / f"test-{next(counter)}.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    yield Backend("sqlite", f"sqlite:///{template}", reset)


# `make test-fast` sets HAILONG_TEST_BACKENDS=sqlite; the whole suite runs both.
BACKENDS = [
    name.strip()
    for name in os.environ.get("HAILONG_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if name.strip()
]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield from _sqlite_backend(tmp_path_factory.mktemp("sqlite"))
    else:
        yield from _postgres_backend()


@pytest.fixture
def database_url(backend: Backend) -> str:
    return backend.reset()


def make_settings(database_url: str, base_url: str = "http://testserver") -> Settings:
    return Settings(
        database_url=database_url,
        base_url=base_url,
        secret_key=TEST_SECRET,
        log_requests=False,
        embedded_worker=False,  # tests that need deliveries drive a worker themselves
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


DbFactory = Callable[[], AbstractContextManager[Session]]
KeyFactory = Callable[..., dict[str, str]]


@pytest.fixture
def db(engine: sa.Engine) -> DbFactory:
    """`with db() as session:` — one committed transaction on the test's database."""
    return lambda: transaction(engine)


@pytest.fixture
def agencies(engine: sa.Engine) -> None:
    """A province with wards and a department: 79 > 79.BTH, 79.SGN, 79.STP, G22.39 (the
    agency of API.md's example handover)."""
    with transaction(engine) as session:
        for code, name, parent in [
            ("79", "Thành phố Hồ Chí Minh", None),
            ("79.BTH", "Phường Bến Thành", "79"),
            ("79.SGN", "Phường Sài Gòn", "79"),
            ("79.STP", "Sở Tư pháp", "79"),
            ("G22.39", "UBND Phường Tân Định", "79"),
        ]:
            upsert_agency(session, code, name, parent, actor="test")


@pytest.fixture
def make_key(engine: sa.Engine) -> KeyFactory:
    """make_key("issuer", agency="79.BTH") -> Authorization headers for a fresh key."""

    def make(role: str, agency: str | None = None) -> dict[str, str]:
        with transaction(engine) as session:
            _, raw = create_key(
                session, role=role, name=f"test {role}", agency_code=agency, actor="test"
            )
        return {"Authorization": f"Bearer {raw}"}

    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    settings: Settings
    engine: sa.Engine

    def session(self) -> AbstractContextManager[Session]:
        return transaction(self.engine)


@contextmanager
def serve(settings: Settings) -> Iterator[LiveServer]:
    """The real app, built from `settings`, served by uvicorn on 127.0.0.1 (whose port
    `settings.base_url` names)."""
    port = int(settings.base_url.rsplit(":", 1)[1])
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,  # open kiosk event streams must not hold the teardown
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start within 10 s")
        time.sleep(0.02)
    engine = make_engine(settings)
    try:
        yield LiveServer(settings.base_url, settings, engine)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture
def live_server(database_url: str) -> Iterator[LiveServer]:
    """The real app served by uvicorn on 127.0.0.1, for browsers and load tools."""
    with serve(make_settings(database_url, base_url=f"http://127.0.0.1:{free_port()}")) as live:
        yield live


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def handover_body(**overrides: object) -> dict[str, object]:
    """The contract's example handover (API.md), with optional changes."""
    body: dict[str, object] = {
        "dossier_code": "G22.39-250915-0001",
        "agency_code": "G22.39",
        "procedure_code": "1.001612",
        "procedure_name": "Đăng ký khai sinh",
        "received_at": "2025-09-10T08:30:00+07:00",
        "due_at": "2025-09-15T17:00:00+07:00",
        "resolved_at": "2025-09-15T10:00:00+07:00",
        "handed_over_at": "2025-09-15T14:00:00+07:00",
        "supplement_requests": 0,
        "channel": "counter",
        "staff": {"receiving": "CB001", "handling": "CB002", "returning": "CB003"},
        "counter_code": "Q01",
        "language": "vi",
    }
    body.update(overrides)
    return body


__all__ = ["Backend", "DbFactory", "KeyFactory", "LiveServer", "handover_body", "serve"]
