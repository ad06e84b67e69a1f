"""SQLite with another writing process beside the server (`hailong calendar set`, a second
worker of `hailong serve --workers N`): a re-post reads its dossier, then moves the
counters by (after - before). pysqlite begins a transaction only at the first write and
SQLite ignores FOR UPDATE, so a write committed by the other process between the read and
the re-post's own write was undone in the counters: live scores then disagreed with
`hailong scores recompute` (recompute audit). A read FOR UPDATE now takes SQLite's write
lock first (service/db.py), and the other process waits for the re-post's commit.

PostgreSQL locks the rows themselves: test_live_writes_during_rescoring.py."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.app import create_app
from service.db import transaction
from service.delivery.sending import Sender
from service.profile import load_profile
from service.scoring import events
from service.scoring import rebuild as rebuild_module
from service.scoring.calendar_days import set_day
from service.settings import Settings
from tests.conftest import Backend, KeyFactory, handover_body
from tests.scoring.test_live_writes_during_rescoring import late_then_on_time

pytestmark = pytest.mark.usefixtures("agencies")
PROFILE = load_profile("hcmc-104-2024")
COLUMNS = ("resolved", "a_on_time", "a_late_grace", "a_late_over", "c_bad_dossiers")


@pytest.fixture(autouse=True)
def _sqlite_only(backend: Backend) -> None:
    if backend.name != "sqlite":
        pytest.skip("PostgreSQL locks the rows read FOR UPDATE (the race tests are there)")


def _by_month(engine: sa.Engine) -> dict[str, dict[str, int]]:
    sums = ", ".join(f"coalesce(sum({c}), 0)" for c in COLUMNS)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(f"SELECT substr(day, 1, 7), {sums} FROM agency_day_counter GROUP BY 1")
        ).all()
    return {
        r[0]: dict(zip(COLUMNS, (int(v) for v in r[1:]), strict=True)) for r in rows if any(r[1:])
    }


def _rebuilt(engine: sa.Engine) -> dict[str, dict[str, int]]:
    with transaction(engine) as session:
        rebuild_module.rebuild(session, PROFILE, None)
    return _by_month(engine)


def _other_writer_after_the_read(
    monkeypatch: pytest.MonkeyPatch, other: Callable[[], Any]
) -> tuple[threading.Thread, list[Any]]:
    """The first time a re-post has read its dossier (its `before` footprint), `other()`
    starts on another thread and gets half a second, as much as it needs when nothing holds
    it back; then the re-post goes on. Its result lands in the list."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(other()))
    footprint = events.dossier_footprint

    def hooked(*args: Any, **kwargs: Any) -> Any:
        if not thread.is_alive() and not results:
            thread.start()
            thread.join(timeout=0.5)
        return footprint(*args, **kwargs)

    monkeypatch.setattr(events, "dossier_footprint", hooked)
    return thread, results


def test_a_second_worker_reposting_the_same_dossier_waits(
    client: TestClient,
    settings: Settings,
    make_key: KeyFactory,
    engine: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issuer = make_key("issuer")
    september = handover_body(
        dossier_code="RACE-1",
        agency_code="79.BTH",
        resolved_at="2025-09-15T10:00:00+07:00",
        due_at=None,
        received_at=None,
    )
    assert client.post("/api/v1/handovers", json=september, headers=issuer).status_code == 201
    october = {**september, "resolved_at": "2025-10-15T10:00:00+07:00"}
    november = {**september, "resolved_at": "2025-11-14T10:00:00+07:00"}
    # Another process of `hailong serve --workers 2`: its own app and in-process lock.
    with TestClient(create_app(settings)) as other_process:
        thread, results = _other_writer_after_the_read(
            monkeypatch,
            lambda: other_process.post("/api/v1/handovers", json=october, headers=issuer),
        )
        assert client.post("/api/v1/handovers", json=november, headers=issuer).status_code == 200
        thread.join(timeout=30)
    monkeypatch.undo()
    assert results and results[0].status_code == 200
    live = _by_month(engine)
    assert live == _rebuilt(engine)
    assert live == {"2025-10": {**dict.fromkeys(COLUMNS, 0), "resolved": 1, "a_on_time": 1}}


def test_the_calendar_set_beside_a_repost_waits_for_it(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer = make_key("issuer")
    on_time = late_then_on_time(client, issuer)

    def calendar_cli() -> int:  # `hailong calendar set 2025-09-10 --off`, another process
        cli_engine = sa.create_engine(str(engine.url), connect_args={"timeout": 10})
        try:
            with transaction(cli_engine) as session:
                day = date(2025, 9, 10)
                return set_day(session, day, False, None, actor="cli", profile=PROFILE)[1]
        finally:
            cli_engine.dispose()

    thread, results = _other_writer_after_the_read(monkeypatch, calendar_cli)
    assert client.post("/api/v1/handovers", json=on_time, headers=issuer).status_code == 200
    thread.join(timeout=30)
    monkeypatch.undo()
    assert results  # the calendar change ran, after the re-post
    live = _by_month(engine)
    assert live == _rebuilt(engine)
    assert live["2025-09"]["a_on_time"] == 1 and live["2025-09"]["a_late_over"] == 0


def test_an_idle_worker_claim_does_not_wait_for_another_writer(
    engine: sa.Engine, settings: Settings
) -> None:
    """The workers' claims skip locked rows and re-check with a conditional UPDATE: they
    take no write lock, or each idle poll beside an import's chunk waited busy_timeout and
    failed with "database is locked" (review)."""
    other = sqlite3.connect(str(engine.url.database), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # `hailong import` writing a chunk, say
    try:
        with httpx.Client() as http:
            assert Sender(engine, settings, PROFILE, http).claim() is None
    finally:
        other.execute("ROLLBACK")
        other.close()
