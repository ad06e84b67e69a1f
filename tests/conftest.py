"""Test fixtures: every database test runs on SQLite and on PostgreSQL, each on a clean state.

Schemas are built with Alembic (never create_all). Each pytest process (each xdist worker)
has its own databases: SQLite, one migrated template file copied over the test database
before each test; PostgreSQL, one migrated database per process, emptied before each test.
The app is built once per process and backend and reset between tests (`app`); a test that
needs other settings builds its own with `create_app`.

Set HAILONG_TEST_REQUIRE_POSTGRES=1 (CI does) to turn "PostgreSQL unreachable" from a skip
into a failure.
"""

from __future__ import annotations

import gc
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from service import throttle
from service.admin.agencies import upsert_agency
from service.admin.keys import create_key
from service.app import create_app
from service.auth.cache import KeyCache
from service.calendar.working_days import LOCAL_TZ, local_date
from service.db import make_engine, transaction
from service.migrations import upgrade
from service.models import utcnow
from service.settings import Settings
from tests.harness.processes import create_database, drop_database, free_port

POSTGRES_ADMIN_URL = os.environ.get(
    "HAILONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("HAILONG_TEST_REQUIRE_POSTGRES") == "1"
# "gw0", "gw1", ... under pytest-xdist (`make test`, `make test-fast`); "main" without it.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
pytest_plugins = ["tests.browser"]
ROOT = Path(__file__).resolve().parent.parent

# In CI the property and fuzz tests replay the same examples every run, so a landing is
# never decided by a lucky draw; locally they explore new examples each time.
hypothesis.settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")
# Hypothesis keeps caches under .hypothesis/; one directory per worker, so that two
# processes never write the same files.
if WORKER != "main":
    hypothesis.configuration.set_hypothesis_home_dir(ROOT / ".hypothesis" / WORKER)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fewer and cheaper full garbage collections in a test process (each xdist worker).

    A worker's heap grows to 600,000-700,000 tracked objects (every test's function and
    parameters, the app's modules, apps and compiled statements tests keep), and each full
    collection walked all of them: 23-26 of them, 10-12 s of a quick-loop worker's ~90 s
    (gc.callbacks). What imports and collection built is frozen, as the server freezes its
    startup (service/app.py), and a full collection waits for 100 younger ones, not 10:
    3-6 s, and 13 % less CPU for the quick loop (user time 141 s against 162 s, two pairs).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 10, 100)


ARTIFACTS = ROOT / "artifacts"
TEST_SECRET = "test-signing-key-not-for-production"


@dataclass
class Backend:
    name: str
    url: str  # the database of every test in this process (the session's app uses it)
    reset: Callable[[], str]  # empties `url` back to the migrated schema; returns `url`


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
    admin_engine.dispose()
    # Per process: each xdist worker, and each of several runs on one machine, has its own.
    name = f"hailong_test_{WORKER}_{os.getpid()}"
    url = create_database(name, POSTGRES_ADMIN_URL)
    upgrade(url)
    engine = sa.create_engine(url)
    schema = sa.MetaData()
    schema.reflect(engine)
    with engine.connect() as connection:
        sequences = connection.execute(
            sa.text("SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = :s"),
            {"s": "public"},
        ).scalars()
        # DELETE, children first, then the ids back to 1: what TRUNCATE ... RESTART IDENTITY
        # does, in ~5 ms instead of 50-130 ms on tables a test leaves nearly empty.
        empty = "; ".join(
            [
                f'DELETE FROM "{table.name}"'
                for table in reversed(schema.sorted_tables)
                if table.name != "alembic_version"
            ]
            + [f"ALTER SEQUENCE {sequence} RESTART" for sequence in sequences]
        )

    def reset() -> str:
        with engine.begin() as connection:
            connection.exec_driver_sql(empty)
        return url

    yield Backend("postgresql", url, reset)
    engine.dispose()
    drop_database(name, POSTGRES_ADMIN_URL)


def _sqlite_backend(tmp: Path) -> Iterator[Backend]:
    """`tmp` is this process's own (pytest's base temporary directory is per worker)."""
    template = tmp / "template.db"
    upgrade(f"sqlite:///{template}")
    path = tmp / "test.db"

    def reset() -> str:
        # Unlinked, not overwritten: a connection a test left open keeps the old file (and
        # its -wal) to itself instead of reading a copy changed under it.
        for stale in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
            stale.unlink(missing_ok=True)
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    yield Backend("sqlite", f"sqlite:///{path}", reset)


# `make test-fast` sets HAILONG_TEST_BACKENDS=sqlite; the whole suite runs both.
BACKENDS = [
    name.strip()
    for name in os.environ.get("HAILONG_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if name.strip()
]

# A browser test that checks a page or the kiosk's JavaScript runs on one database: what it
# checks is drawn and decided in the browser, and the server's side of it (what is stored,
# once) is checked on both by the API and page tests beside it. Twice, they were a sixth
# of the whole suite's time. The flows end to end (test_kiosk_browser.py,
# test_survey_browser.py) stay on both. The first of HAILONG_TEST_BACKENDS: SQLite unless
# it is set otherwise, the embedded default, which is on every machine, so a newcomer
# without PostgreSQL still runs them.
ONE_BACKEND = pytest.mark.parametrize("backend", BACKENDS[:1], indirect=True)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield from _sqlite_backend(tmp_path_factory.mktemp("sqlite"))
    else:
        yield from _postgres_backend()


class SharedEngines:
    """One engine per database for a whole test process, as a server has one for its life.

    SQLAlchemy keeps the SQL it compiled per engine (per dialect): with an engine per test,
    for the `engine` fixture and for each app's lifespan, every test compiled every statement
    it ran again, 13 % of the quick loop's CPU (py-spy --gil). An engine shared by the tests
    of a process keeps its compiled statements; `dispose()` (the lifespan's at its end, the
    fixture's, a database's reset) only closes its pool. Tests that want a second pool (as
    another process would have) call `make_engine` themselves.
    """

    def __init__(self) -> None:
        self._engines: dict[tuple[str, int], sa.Engine] = {}

    def __call__(self, settings: Settings) -> sa.Engine:
        key = (settings.database_url, settings.db_pool_size)
        if key not in self._engines:
            self._engines[key] = make_engine(settings)
        return self._engines[key]

    def close_pools(self, database_url: str) -> None:
        for (url, _), engine in self._engines.items():
            if url == database_url:
                engine.dispose()
        # What the process remembers of a database, keyed by its engine: the guess
        # throttle's notes of who failed in this window mirror the counts a reset empties
        # (a 429 in a later test of the same minute otherwise).
        throttle._notes.by_key.clear()


shared_engine = SharedEngines()


@pytest.fixture(scope="session", autouse=True)
def _apps_share_engines() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("service.app.make_engine", shared_engine)
        yield


@pytest.fixture
def database_url(backend: Backend) -> str:
    # A SQLite reset replaces the file: no pooled connection may keep the one it replaced.
    shared_engine.close_pools(backend.url)
    return backend.reset()


def make_settings(
    database_url: str, base_url: str = "http://testserver", **overrides: Any
) -> Settings:
    fields: dict[str, Any] = {
        "database_url": database_url,
        "base_url": base_url,
        "secret_key": TEST_SECRET,
        "log_requests": False,
        "embedded_worker": False,  # tests that need deliveries drive a worker themselves
    }
    return Settings(**(fields | overrides))


@pytest.fixture
def settings(database_url: str, reused_app: ReusedApp) -> Settings:
    """`make_settings(database_url)`: the process's app's settings (on the same database),
    copied rather than built again (building reads the environment, ~5-10 ms a test)."""
    return reused_app.settings.model_copy(deep=True)


class ReusedApp:
    """One app for every test of a process and backend, all on `Backend.url`.

    Building the app is cheap; its first requests are not (FastAPI prepares each route on
    first use, Jinja compiles each template, /openapi.json is generated once). `reset()`
    puts back what a test's requests leave in `app.state` (things made on first use such
    as the kiosk feed and page memos, remembered API keys, settings a test swapped).
    The lifespan (engine, handover writer) runs per test, in `client`. Prometheus metrics
    add up across tests: a test that reads exact counts builds its own app.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self._built = dict(self.app.state._state)

    def reset(self) -> FastAPI:
        state = self.app.state._state
        state.clear()
        state.update(self._built)
        state["key_cache"] = KeyCache(self.app.state.settings.auth_cache_seconds)
        return self.app


# The ReusedApp of each distinct settings a module's `settings` fixture asks for: a new app
# prepared its routes again on its first requests (FastAPI builds each route's parameters
# per app, ~100 ms for all of them), and some 150 tests override the settings.
# Compared with ==, not by a JSON key: a JSON dump masks secrets (two settings differing
# in a signing key alone would share an app).
_APPS_BY_SETTINGS: list[tuple[dict[str, Any], ReusedApp]] = []


@pytest.fixture(scope="session")
def reused_app(backend: Backend) -> ReusedApp:
    return ReusedApp(make_settings(backend.url))


def app_for(settings: Settings) -> FastAPI:
    """A ReusedApp built from settings equal to `settings`, reset: for fixtures and tests that
    need other settings and no app of their own (one that reads exact metrics, or whose
    start is the test, builds its own with create_app)."""
    wanted = settings.model_dump()
    for built, reused in _APPS_BY_SETTINGS:
        if built == wanted:
            return reused.reset()
    reused = ReusedApp(settings.model_copy(deep=True))
    _APPS_BY_SETTINGS.append((wanted, reused))
    return reused.reset()


@pytest.fixture
def app(reused_app: ReusedApp, settings: Settings) -> FastAPI:
    """The app on a clean database, for the test's settings: the process's ReusedApp,
    reset, for the usual settings; `app_for` the others."""
    if settings.model_dump() == reused_app.settings.model_dump():
        return reused_app.reset()
    return app_for(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    engine = shared_engine(settings)
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


@dataclass
class LiveServer:
    url: str
    settings: Settings
    engine: sa.Engine  # the test's own
    app: FastAPI  # the one served (its engine, app.state.engine, to take the database down)

    def session(self) -> AbstractContextManager[Session]:
        return transaction(self.engine)


@contextmanager
def serve(settings: Settings) -> Iterator[LiveServer]:
    """The real app, built from `settings`, served by uvicorn on 127.0.0.1 (whose port
    `settings.base_url` names)."""
    port = int(settings.base_url.rsplit(":", 1)[1])
    app = create_app(settings)
    config = uvicorn.Config(
        app,
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
        yield LiveServer(settings.base_url, settings, engine, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture
def live_server(database_url: str) -> Iterator[LiveServer]:
    """The real app served by uvicorn on 127.0.0.1, for browsers and load tools."""
    with serve(make_settings(database_url, base_url=f"http://127.0.0.1:{free_port()}")) as live:
        yield live


@pytest.fixture
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    """Screenshots and PDFs to look at after a run: artifacts/, and artifacts/postgresql/ for
    the PostgreSQL run of a test (the two runs of one test may write at once on two workers)."""
    folder = ARTIFACTS
    if "backend" in request.fixturenames:
        backend: Backend = request.getfixturevalue("backend")
        if backend.name != "sqlite":
            folder = ARTIFACTS / backend.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def earlier_today(ago: timedelta) -> datetime:
    """`ago` before now, but not before today's local midnight: a row dated "a moment ago"
    falls in the local day, month, quarter and year a test then reads, also in the first
    minutes of one (in the first hour of a month, "an hour ago" was last month's, and a
    test reading this month found nothing: a CI run at the wrong hour failed)."""
    now = utcnow()
    return max(now - ago, datetime.combine(local_date(now), dt_time.min, LOCAL_TZ))


def handover_body(**overrides: object) -> dict[str, object]:
    """The contract's example handover (API.md), with optional changes. A changed
    resolved_at without a handed_over_at drops the example's handover (of 15/9, 14:00),
    which would lie before a later resolution (a 422)."""
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
    if "resolved_at" in overrides and "handed_over_at" not in overrides:
        body["handed_over_at"] = None
    body.update(overrides)
    return body


__all__ = [
    "Backend",
    "DbFactory",
    "KeyFactory",
    "LiveServer",
    "ReusedApp",
    "app_for",
    "free_port",
    "handover_body",
    "serve",
]
