"""Handovers posted at the same moment are written in batches (service/handovers/batching.py),
through a real server: each still gets its own answer, and nothing is written twice or lost.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Histogram
from psycopg import Error as PsycopgError
from psycopg.errors import DeadlockDetected
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from service.auth.principal import Principal
from service.db import transaction
from service.handovers.batching import (
    HandoverWriter,
    _existing,
    _hand_back,
    _Handover,
    _Lookup,
)
from service.handovers.schemas import HandoverCreate
from service.handovers.service import issue
from service.models import COUNT_COLUMNS
from service.profile import profile_of
from service.scoring.rebuild import rebuild
from service.settings import Settings
from tests.conftest import KeyFactory, LiveServer, handover_body

BURST = 48


def _counter_rows(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    columns = ", ".join(COUNT_COLUMNS)
    with engine.connect() as connection:
        return {
            table: [
                tuple(row)
                for row in connection.execute(
                    sa.text(f"SELECT {key}, day, {columns} FROM {table} ORDER BY {key}, day")
                )
            ]
            for table, key in (
                ("agency_day_counter", "agency_id"),
                ("staff_day_counter", "staff_id"),
            )
        }


def _burst(url: str, posts: list[tuple[dict[str, str], dict[str, Any]]]) -> list[httpx.Response]:
    """Every post sent at once: the threads wait at a barrier, then all go."""
    start = threading.Barrier(len(posts))

    def post(item: tuple[dict[str, str], dict[str, Any]]) -> httpx.Response:
        headers, body = item
        with httpx.Client(base_url=url, timeout=30) as client:
            start.wait()
            return client.post("/api/v1/handovers", json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=len(posts)) as pool:
        return list(pool.map(post, posts))


def _batch_sizes(url: str) -> tuple[float, float]:
    """(handovers written in batches, batches) from the server's /metrics."""
    text = httpx.get(f"{url}/metrics").text
    total = re.search(r"^hailong_handover_batch_size_sum ([\d.e+]+)$", text, re.M)
    count = re.search(r"^hailong_handover_batch_size_count ([\d.e+]+)$", text, re.M)
    assert total and count, "the batch size histogram is missing from /metrics"
    return float(total.group(1)), float(count.group(1))


@pytest.mark.usefixtures("agencies")
def test_a_burst_is_batched_and_every_post_gets_its_own_answer(
    live_server: LiveServer, make_key: KeyFactory
) -> None:
    issuer = make_key("issuer")
    ward_key = make_key("issuer", agency="79.SGN")
    # Register the usual staff and counter first (a first sighting goes one by one).
    warm = handover_body(dossier_code="WARM-1", agency_code="79.BTH")
    assert httpx.post(f"{live_server.url}/api/v1/handovers", json=warm, headers=issuer).is_success

    plain = [
        (issuer, handover_body(dossier_code=f"BURST-{i}", agency_code="79.BTH"))
        for i in range(BURST - 12)
    ]
    same = [(issuer, handover_body(dossier_code="SAME-1", agency_code="79.BTH"))] * 5
    unknown_agency = [(issuer, handover_body(dossier_code="NOWHERE-1", agency_code="99.XX"))]
    out_of_scope = [(ward_key, handover_body(dossier_code="SCOPE-1", agency_code="79.BTH"))]
    new_staff = [
        (
            issuer,
            handover_body(
                dossier_code=f"NEWSTAFF-{i}",
                agency_code="79.BTH",
                staff={"handling": f"CB-NEW-{i}"},
                counter_code="Q-NEW",
            ),
        )
        for i in range(5)
    ]
    posts = plain + same + unknown_agency + out_of_scope + new_staff
    assert len(posts) == BURST
    responses = _burst(live_server.url, posts)

    by_code = {body["dossier_code"]: r for (_, body), r in zip(posts, responses, strict=True)}
    for (_, body), response in zip(posts, responses, strict=True):
        code = body["dossier_code"]
        if code == "NOWHERE-1":
            assert response.status_code == 422, response.text
            assert response.json()["fields"][0]["field"] == "agency_code"
        elif code == "SCOPE-1":
            assert response.status_code == 403, response.text
        elif code != "SAME-1":
            assert response.status_code == 201, response.text
            assert response.json()["dossier_code"] == code
    same_answers = [
        r for (_, b), r in zip(posts, responses, strict=True) if b["dossier_code"] == "SAME-1"
    ]
    assert sorted(r.status_code for r in same_answers) == [200, 200, 200, 200, 201]
    assert len({r.json()["survey_url"] for r in same_answers}) == 1
    # Every answer is a different survey; each survey link opens its own dossier's page.
    urls = [r.json()["survey_url"] for r in responses if r.status_code == 201]
    assert len(set(urls)) == len(urls) == BURST - 6
    page = httpx.get(by_code["BURST-3"].json()["slip_url"])
    assert page.status_code == 200 and "BURST-3" in page.text

    written, batches = _batch_sizes(live_server.url)
    assert written > batches, f"{written:.0f} handovers in {batches:.0f} batches: none shared one"

    engine = live_server.engine
    with engine.connect() as connection:
        per_dossier = Counter(
            connection.execute(
                sa.text("SELECT d.code FROM invitation i JOIN dossier d ON d.id = i.dossier_id")
            ).scalars()
        )
        events = connection.execute(
            sa.text("SELECT count(*) FROM outbox_event WHERE type = 'invitation.issued'")
        ).scalar_one()
    assert set(per_dossier.values()) == {1}
    assert len(per_dossier) == 1 + BURST - 7 + 1  # warm-up, the 201s, SAME-1
    assert events == len(per_dossier)

    # The live counters equal counters rebuilt from the rows.
    live = _counter_rows(engine)
    with transaction(engine) as session:
        rebuild(session, profile_of(live_server.settings))
    assert _counter_rows(engine) == live
    assert sum(row[2] for row in live["agency_day_counter"]) == len(per_dossier)


@pytest.mark.usefixtures("agencies")
def test_a_batch_that_loses_a_dossier_to_a_concurrent_writer_is_handed_back_whole(
    settings: Settings, engine: sa.Engine
) -> None:
    """Another transaction stores RACE-1 after the batch looked and before it commits: the
    batch's COMMIT fails on the unique code, and every handover of it goes back to its
    request (None) to be issued one by one. Nothing of the batch is kept."""
    profile = profile_of(settings)
    principal = Principal(
        key_id=1, name="test", role="issuer", scope_agency_id=None, scope_path=None
    )
    first = HandoverCreate.model_validate(
        handover_body(dossier_code="RACE-0", agency_code="79.BTH")
    )
    with transaction(engine) as session:  # registers the staff and counter: plain from now on
        issue(session, principal, first, settings, profile)

    writer = HandoverWriter(engine, settings, profile)
    batch = [
        _Handover(principal, HandoverCreate.model_validate(body))
        for body in (
            handover_body(dossier_code="RACE-1", agency_code="79.BTH"),
            handover_body(dossier_code="RACE-2", agency_code="79.BTH"),
        )
    ]
    looked = threading.Event()
    lookup = _Lookup.__init__

    def lookup_then_wait(self: _Lookup, *args: Any) -> None:
        lookup(self, *args)
        looked.set()  # the batch has seen that RACE-1 does not exist yet ...
        rival.join(timeout=30)  # ... when the rival stores it

    def store_race_1() -> None:
        assert looked.wait(timeout=30)
        racing = HandoverCreate.model_validate(
            handover_body(dossier_code="RACE-1", agency_code="79.BTH")
        )
        with transaction(engine) as session:
            issue(session, principal, racing, settings, profile)

    rival = threading.Thread(target=store_race_1)
    rival.start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_Lookup, "__init__", lookup_then_wait)
            outcomes = writer._finish(batch, writer._prepare(batch))
        assert [(o.value, o.error) for o in outcomes] == [(None, None), (None, None)]
    finally:
        rival.join(timeout=30)
    with engine.connect() as connection:
        codes = connection.execute(
            sa.text("SELECT d.code FROM invitation i JOIN dossier d ON d.id = i.dossier_id")
        ).scalars()
        assert sorted(codes) == ["RACE-0", "RACE-1"]


def _registered_issuer(settings: Settings, engine: sa.Engine, dossier_code: str) -> Principal:
    """An issuer, after one handover through the one-by-one path has registered the staff
    and counter of handover_body(): its later handovers are plain, the writer's to take."""
    principal = Principal(
        key_id=1, name="test", role="issuer", scope_agency_id=None, scope_path=None
    )
    first = HandoverCreate.model_validate(
        handover_body(dossier_code=dossier_code, agency_code="79.BTH")
    )
    with transaction(engine) as session:
        issue(session, principal, first, settings, profile_of(settings))
    return principal


@pytest.mark.usefixtures("agencies")
def test_what_arrives_while_a_writer_builds_is_gathered_into_one_batch(
    settings: Settings, engine: sa.Engine
) -> None:
    """While one writer gathers and builds (here: the test holds its turn), arrivals wait;
    when the turn comes, one writer takes them all as one batch, instead of each idle
    writer taking the first arrival on its own (a batch's own cost is a dozen rows')."""
    profile = profile_of(settings)
    principal = _registered_issuer(settings, engine, "G-0")
    sizes = Histogram("batch_size", "test", registry=CollectorRegistry(), buckets=(1, 2, 8, 64))
    writer = HandoverWriter(engine, settings, profile, batch_sizes=sizes)
    writer.start()
    arrivals = 12

    async def post_all() -> list[Any]:
        posts = [
            writer.issue(
                principal,
                HandoverCreate.model_validate(
                    handover_body(dossier_code=f"G-{i}", agency_code="79.BTH")
                ),
            )
            for i in range(1, arrivals + 1)
        ]
        tasks = [asyncio.ensure_future(post) for post in posts]
        # Every post queued, and every writer thread holding one, waiting for its turn.
        waiting = arrivals - len(writer._threads)
        for _ in range(500):
            await asyncio.sleep(0.01)
            if writer._queue.qsize() == waiting:
                break
        assert writer._queue.qsize() == waiting
        released.set()
        writer._gathering.release()
        return await asyncio.gather(*tasks)

    released = threading.Event()
    writer._gathering.acquire()  # as if another writer were building its batch
    try:
        answers = asyncio.run(post_all())
    finally:
        if not released.is_set():
            writer._gathering.release()
        writer.stop()
    assert all(a is not None and a.status == "issued" for a in answers), answers
    samples = [sample for metric in sizes.collect() for sample in metric.samples]
    count = next(s.value for s in samples if s.name == "batch_size_count")
    small = next(
        s.value for s in samples if s.name == "batch_size_bucket" and s.labels["le"] == "1.0"
    )
    # Each writer thread took one arrival before waiting for its turn. The first to get
    # it gathered everything else: one batch of 12 - (writers - 1); the others, of 1.
    writers = len(writer._threads)
    assert (count, small) == (writers, writers - 1)


def test_with_the_database_down_each_post_hears_of_it_and_the_writer_still_stops(
    settings: Settings,
) -> None:
    """Opening the batch's connection fails: the request gets the error (the route then
    answers it), and the threads still end on stop(). (How soon: bench/latency.py.)"""
    profile = profile_of(settings)
    principal = Principal(
        key_id=1, name="test", role="issuer", scope_agency_id=None, scope_path=None
    )
    down = (
        "sqlite:////nonexistent-directory/hailong.db"
        if settings.is_sqlite
        else "postgresql+psycopg://postgres@127.0.0.1:1/hailong"
    )
    writer = HandoverWriter(sa.create_engine(down), settings, profile)
    writer.start()
    payload = HandoverCreate.model_validate(
        handover_body(dossier_code="DOWN-1", agency_code="79.BTH")
    )
    try:
        with pytest.raises(OperationalError):
            asyncio.run(writer.issue(principal, payload))
    finally:
        writer.stop()
    assert not any(thread.is_alive() for thread in writer._threads)


@pytest.mark.usefixtures("agencies")
def test_a_writer_whose_connection_was_cut_takes_a_new_one(
    settings: Settings, engine: sa.Engine
) -> None:
    """Each writer thread keeps its connection between batches (PostgreSQL). Cut by the
    server, the one batch that finds out is handed back (`None`: the route then writes its
    handovers one by one, on a new connection; tests/hardening/test_database_restart.py),
    none fails, and the next batch connects again. (SQLite: nothing to cut; the writer
    opens the file for each batch.)"""
    profile = profile_of(settings)
    principal = _registered_issuer(settings, engine, "CUT-0")
    # The writer's own engine, named, so that only its connections are cut.
    named = {} if settings.is_sqlite else {"connect_args": {"application_name": "cut-writer"}}
    writer_engine = sa.create_engine(settings.database_url, **named)
    writer = HandoverWriter(writer_engine, settings, profile)
    writer.start()

    def post(code: str) -> object:
        payload = HandoverCreate.model_validate(
            handover_body(dossier_code=code, agency_code="79.BTH")
        )
        try:
            return asyncio.run(writer.issue(principal, payload))
        except OperationalError as exc:
            return exc

    try:
        before = [post(f"CUT-W{n}") for n in range(8)]
        assert all(r is not None and not isinstance(r, Exception) for r in before), before
        if not settings.is_sqlite:
            with engine.connect() as connection:
                cut = connection.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE application_name = 'cut-writer'"
                    )
                ).scalar_one()
            assert cut >= 1  # at least the connection of the writer that wrote last
        after = [post(f"CUT-A{n}") for n in range(8)]
    finally:
        writer.stop()
        writer_engine.dispose()
    assert not [r for r in after if isinstance(r, Exception)], after
    handed_back = [r for r in after if r is None]
    # At most one batch handed back per writer thread, then every post is written.
    assert len(handed_back) <= len(writer._threads), after
    assert all(r is not None for r in after[-4:]), after
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT count(*) FROM dossier WHERE code LIKE 'CUT-A%'")
        ).scalar_one()
    assert stored == len(after) - len(handed_back)


def test_races_and_refused_values_are_handed_back_other_errors_are_not() -> None:
    deadlock = DBAPIError.instance(None, None, DeadlockDetected(), PsycopgError)
    taken = IntegrityError("INSERT", {}, Exception("duplicate key"))
    down = OperationalError("SELECT 1", {}, Exception("connection refused"))
    refused = DataError("INSERT", {"procedure_name": "a\x00b"}, Exception("NUL"))
    assert _hand_back(deadlock) and _hand_back(taken) and _hand_back(refused)
    assert not _hand_back(down)
    assert not _hand_back(ValueError("not a database error"))


@pytest.mark.usefixtures("agencies")
def test_a_batch_finds_exactly_its_own_stored_dossiers_by_agency_and_code(
    settings: Settings, engine: sa.Engine
) -> None:
    """The batch asks, agency by agency, for that agency's codes (both columns of the
    unique index): only the pairs asked come back, not the pairs that match crosswise."""
    issuer = _registered_issuer(settings, engine, "STORED-1")
    later = HandoverCreate.model_validate(
        handover_body(dossier_code="STORED-2", agency_code="79.SGN")
    )
    with transaction(engine) as session:
        issue(session, issuer, later, settings, profile_of(settings))  # stored at COMMIT
    with transaction(engine) as session:
        ids = {code: id_ for code, id_ in session.execute(sa.text("SELECT code, id FROM agency"))}
        bth, sgn = ids["79.BTH"], ids["79.SGN"]
        # (79.BTH, STORED-2) and (79.SGN, STORED-1) are not stored, though both the agency
        # and the code of each are, crosswise.
        asked = [(bth, "STORED-1"), (bth, "STORED-2"), (sgn, "STORED-1"), (sgn, "NEW")]
        assert _existing(session, asked) == {(bth, "STORED-1")}
        assert _existing(session, [(sgn, "STORED-2")]) == {(sgn, "STORED-2")}
        assert _existing(session, []) == set()
