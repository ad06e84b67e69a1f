"""A real `hailong serve`, SIGKILLed (the whole process group) in the middle of a mixed load,
then restarted on the same database.

Shown, on SQLite (the embedded one-process mode, webhook worker inside the server) and on
PostgreSQL (two worker processes, each with its embedded webhook worker):

- every request that was answered 2xx before the kill is in the database: handovers
  (dossiers), answers (responses) and petitions;
- the live day counters (what every score is read from) equal a rebuild from the raw rows
  by `hailong scores recompute`, and the scores served before and after that rebuild are the
  same; the counters count exactly the rows stored, so at least every acknowledged request;
- the webhook deliveries pending at the kill (the receiver was slow, so there was a backlog
  and a delivery in flight) all reach the receiver after the restart, signed, none lost,
  and only the ones in flight at the kill sent twice.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from service.models.scoring import COUNT_COLUMNS
from tests.conftest import TEST_SECRET, Backend, KeyFactory, handover_body
from tests.harness.processes import HailongServer, free_port, http_server, run_hailong, wait_until
from tests.webhooks.conftest import Receiver, _handler

pytestmark = [pytest.mark.usefixtures("agencies"), pytest.mark.servers]

AGENCIES = ["79.BTH", "79.SGN"]
EVENTS = ["invitation.issued", "response.submitted", "petition.created"]
CLIENT_THREADS = 4
ACKED_BEFORE_KILL = 150  # acknowledged requests before the kill (about 5 s of load)
LOAD_SECONDS = 30  # the kill comes after this at the latest, however slow the machine
RECEIVER_DELAY = 0.25  # seconds per delivery before the kill: a backlog builds up
WEBHOOK_TIMEOUT = 3  # HAILONG_WEBHOOK_TIMEOUT_SECONDS; a dead worker's lease lapses after
LEASE_MARGIN = 2  # timeout + margin (a busy machine must not see a live send lapse)
DELIVERY_SECONDS = 60  # to deliver the whole backlog after the restart


# -- the webhook receiver ---------------------------------------------------------------------
@dataclass
class SlowReceiver(Receiver):
    arrived: list[str] = field(default_factory=list)  # webhook-ids as requests start


def _slow_handler(receiver: SlowReceiver) -> type[BaseHTTPRequestHandler]:
    base: Any = _handler(receiver)

    class Handler(base):  # type: ignore[misc]
        def do_POST(self) -> None:
            with receiver.lock:
                receiver.arrived.append(self.headers["webhook-id"])
            # The sender may be killed while we wait and answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().do_POST()

    handler: type[BaseHTTPRequestHandler] = Handler
    return handler


@pytest.fixture
def receiver() -> Iterator[SlowReceiver]:
    port = free_port()
    receiver = SlowReceiver(url=f"http://127.0.0.1:{port}/hooks")
    with http_server(_slow_handler(receiver), port):
        yield receiver


# -- the load ---------------------------------------------------------------------------------
@dataclass
class Ledger:
    """What the clients were told. `cut` counts requests the kill left without an answer."""

    dossiers: dict[str, str] = field(default_factory=dict)  # dossier code -> agency code
    responses: dict[int, str] = field(default_factory=dict)  # response id -> dossier code
    petitions: dict[str, str] = field(default_factory=dict)  # petition code -> agency code
    unexpected: list[str] = field(default_factory=list)  # non-2xx answers, errors before kill
    cut: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def acked(self) -> int:
        return len(self.dossiers) + len(self.responses) + len(self.petitions)


def _local(day_offset: int, hour: int) -> str:
    moment = datetime(2025, 9, 1, hour, 0) + timedelta(days=day_offset)
    return moment.strftime("%Y-%m-%dT%H:%M:00+07:00")


class Load:
    """Client threads posting handovers, answers and petitions until the server dies."""

    def __init__(self, url: str, issuer: dict[str, str]) -> None:
        self.url = url
        self.issuer = issuer
        self.ledger = Ledger()
        self.killed = threading.Event()  # set just before the SIGKILL
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True)
            for n in range(CLIENT_THREADS)
        ]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _post(self, client: httpx.Client, path: str, body: dict[str, Any], key: bool) -> Any:
        """The JSON of a 2xx answer; None when there was none (noted in the ledger)."""
        try:
            answer = client.post(path, json=body, headers=self.issuer if key else {})
        except httpx.TransportError as exc:
            with self.ledger.lock:
                if self.killed.is_set():
                    self.ledger.cut += 1
                    self.stop.set()
                else:
                    self.ledger.unexpected.append(f"{path}: {type(exc).__name__}: {exc}")
            return None
        if not answer.is_success:
            with self.ledger.lock:
                self.ledger.unexpected.append(f"{path}: {answer.status_code} {answer.text[:300]}")
            return None
        return answer.json()

    def _client(self, n: int) -> None:
        with httpx.Client(base_url=self.url, timeout=20) as client:
            for i in itertools.count():
                if self.stop.is_set():
                    return
                self._round(client, n, i)

    def _round(self, client: httpx.Client, n: int, i: int) -> None:
        """One dossier: handover, answer (2 in 3), petition (1 in 3), a re-post (1 in 5)."""
        agency = AGENCIES[(n + i) % len(AGENCIES)]
        code = f"CRASH-{agency}-T{n}-{i:05d}"
        late = i % 4 == 0
        body = handover_body(
            dossier_code=code,
            agency_code=agency,
            received_at=_local(i % 20, 8),
            due_at=_local(i % 20 + 3, 17),
            resolved_at=_local(i % 20 + (12 if late else 2), 10),
            handed_over_at=_local(i % 20 + (12 if late else 2), 14),
            supplement_requests=i % 3,
            staff={"receiving": f"R{n}", "handling": f"H{i % 3}", "returning": f"T{i % 2}"},
        )
        issued = self._post(client, "/api/v1/handovers", body, key=True)
        if issued is None:
            return
        with self.ledger.lock:
            self.ledger.dossiers[code] = agency
        if i % 3 != 2:
            answer = {
                "token": issued["survey_url"].rsplit("/", 1)[1],
                "answers": {
                    "timeliness": "late" if late else "on_time",
                    "supplement_requests": ["none", "once", "twice_or_more"][i % 3],
                    "staff_attitude": ["good", "normal", "poor"][i % 3],
                    "overall": ["very_satisfied", "satisfied", "unsatisfied"][(i + n) % 3],
                    "complaint": "Phải chờ lâu ở quầy" if i % 7 == 0 else "",
                },
                "source": "kiosk" if n % 2 else "phone",
                "client_submission_id": f"crash-{code}",
            }
            answered = self._post(client, "/api/v1/responses", answer, key=False)
            if answered is not None:
                with self.ledger.lock:
                    self.ledger.responses[int(answered["response_id"])] = code
        if i % 3 == 1:
            petition_code = f"PAKN-{code}"
            petition = {
                "petition_code": petition_code,
                "agency_code": agency,
                "dossier_code": code,
                "received_at": _local(i % 20 + 5, 9),
                "handled_at": _local(i % 20 + (30 if i % 2 else 8), 16),
                "citizen_verdict": "unsatisfied" if i % 5 == 0 else "satisfied",
            }
            if self._post(client, "/api/v1/petitions", petition, key=True) is not None:
                with self.ledger.lock:
                    self.ledger.petitions[petition_code] = agency
        if i % 5 == 4:  # the same dossier again: its facts change, counters move by the delta
            body["resolved_at"] = _local(i % 20 + 1, 9)
            body["supplement_requests"] = 0
            self._post(client, "/api/v1/handovers", body, key=True)


# -- reading the database ---------------------------------------------------------------------
def column(engine: sa.Engine, sql: str) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(sa.text(sql)).scalars())


def counters(engine: sa.Engine, table: str, key: str) -> dict[tuple[Any, str], tuple[int, ...]]:
    """The non-empty day counter rows (a rebuild writes no all-zero row)."""
    names = ", ".join(COUNT_COLUMNS)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(f"SELECT {key}, day, {names} FROM {table}")).all()
    return {(r[0], str(r[1])): tuple(r[2:]) for r in rows if any(r[2:])}


def per_agency(engine: sa.Engine, sql: str) -> dict[str, int]:
    with engine.connect() as connection:
        return {code: int(n) for code, n in connection.execute(sa.text(sql)).all()}


def scores(url: str, reader: dict[str, str], periods: list[str]) -> dict[str, Any]:
    found = {}
    for period in periods:
        answer = httpx.get(
            f"{url}/api/v1/scores", params={"period": period}, headers=reader, timeout=30
        )
        assert answer.status_code == 200, answer.text
        for score in answer.json()["data"]:
            score.pop("computed_at", None)
            found[f"{score['agency_code']} {period}"] = score
    return found


def recompute(server: HailongServer) -> None:
    run_hailong(server.env, server.cwd, "scores", "recompute", timeout=120)


# -- the test ---------------------------------------------------------------------------------
def test_acknowledged_writes_scores_and_webhooks_survive_a_sigkill(
    backend: Backend,
    database_url: str,
    make_key: KeyFactory,
    receiver: SlowReceiver,
    tmp_path: Path,
) -> None:
    processes = 2 if backend.name == "postgresql" else 1  # SQLite: the embedded mode
    engine = sa.create_engine(database_url)
    issuer, reader, admin = make_key("issuer"), make_key("reader"), make_key("admin")
    settings = {
        "webhook_allow_networks": "127.0.0.0/8",
        "webhook_timeout_seconds": str(WEBHOOK_TIMEOUT),
        "webhook_lease_margin_seconds": str(LEASE_MARGIN),
        "webhook_retry_base_seconds": "0.1",
        "webhook_retry_max_seconds": "0.5",
        "worker_poll_seconds": "0.1",
        "embedded_worker": "true",
    }
    log = tmp_path / "server.log"
    first = HailongServer(
        database_url, log, secret_key=TEST_SECRET, workers=processes, settings=settings
    )
    second = HailongServer(
        database_url, log, secret_key=TEST_SECRET, workers=processes, settings=settings
    )
    try:
        first.start()
        subscribed = httpx.post(
            f"{first.url}/api/v1/webhooks",
            json={"url": receiver.url, "events": EVENTS},
            headers=admin,
            timeout=10,
        )
        assert subscribed.status_code == 201, subscribed.text
        secret = subscribed.json()["secret"]

        # -- load, then the kill in the middle of it -------------------------------------------
        receiver.delay = RECEIVER_DELAY
        with Load(first.url, issuer) as load:
            deadline = time.monotonic() + LOAD_SECONDS
            # Until enough was acknowledged and the webhook worker is busy (a delivery done,
            # the next one in flight), or the deadline, however slow the machine is.
            while time.monotonic() < deadline and (
                load.ledger.acked < ACKED_BEFORE_KILL or len(receiver.arrived) < 2
            ):
                assert not load.ledger.unexpected, load.ledger.unexpected[:5]
                time.sleep(0.05)
            assert len(receiver.arrived) > 0, "no delivery started before the kill"
            load.killed.set()
            serving = first.worker_pids()
            killed = first.kill()
        ledger = load.ledger
        # The deliveries under way when it died: claimed (leased) and not finished. Read
        # from the database, which the dead server can no longer change: the receiver's
        # arrivals, read at this moment, may lack a request sent just before the kill whose
        # connection the receiver's thread accepts only after it (a loaded machine), and its
        # second send after the restart failed "only those in flight may come twice".
        in_flight_at_kill = set(
            column(
                engine,
                "SELECT msg_id FROM webhook_delivery "
                "WHERE status = 'pending' AND lease_until IS NOT NULL",
            )
        )
        with receiver.lock:
            arrived_before_kill = set(receiver.arrived)
        receiver.delay = 0
        assert len(serving) == processes and set(serving) <= set(killed), (serving, killed)
        assert not ledger.unexpected, ledger.unexpected[:5]
        assert ledger.acked >= min(ACKED_BEFORE_KILL, 30), "too little load to show anything"

        # -- what was acknowledged is stored --------------------------------------------------
        dossiers = set(column(engine, "SELECT code FROM dossier"))
        assert set(ledger.dossiers) <= dossiers, set(ledger.dossiers) - dossiers
        answered = column(
            engine,
            "SELECT r.id FROM response r JOIN invitation i ON i.id = r.invitation_id "
            "WHERE i.status = 'answered'",
        )
        assert set(ledger.responses) <= set(answered), set(ledger.responses) - set(answered)
        petitions = set(column(engine, "SELECT code FROM petition WHERE source = 'import'"))
        assert set(ledger.petitions) <= petitions, set(ledger.petitions) - petitions

        # -- restart: the scores served are the counters, and they equal a rebuild ------------
        second.start()
        years = sorted({str(d)[:4] for d in column(engine, "SELECT received_day FROM response")})
        periods = ["2025-Q3", "2025-Q4", *years]
        live_agency = counters(engine, "agency_day_counter", "agency_id")
        live_staff = counters(engine, "staff_day_counter", "staff_id")
        live_scores = scores(second.url, reader, periods)
        recompute(second)
        assert counters(engine, "agency_day_counter", "agency_id") == live_agency
        assert counters(engine, "staff_day_counter", "staff_id") == live_staff
        assert scores(second.url, reader, periods) == live_scores

        # The counters count the stored rows, so every acknowledged request is in the scores.
        totals = ", ".join(f"sum(c.{name})" for name in ("resolved", "evaluations", "petitions"))
        with engine.connect() as connection:
            counted = {
                code: (int(r), int(e), int(p))
                for code, r, e, p in connection.execute(
                    sa.text(
                        f"SELECT a.code, {totals} FROM agency_day_counter c "
                        "JOIN agency a ON a.id = c.agency_id GROUP BY a.code"
                    )
                ).all()
            }
        stored_dossiers = per_agency(
            engine,
            "SELECT a.code, count(*) FROM dossier d JOIN agency a ON a.id = d.agency_id "
            "GROUP BY a.code",
        )
        stored_responses = per_agency(
            engine,
            "SELECT a.code, count(*) FROM response r JOIN agency a ON a.id = r.agency_id "
            "GROUP BY a.code",
        )
        stored_petitions = per_agency(
            engine,
            # Survey comments are feedback, not national-channel petitions: not counted.
            "SELECT a.code, count(*) FROM petition p JOIN agency a ON a.id = p.agency_id "
            "WHERE p.source <> 'survey' GROUP BY a.code",
        )
        for agency in AGENCIES:
            acked_dossiers = sum(1 for a in ledger.dossiers.values() if a == agency)
            acked_responses = sum(
                1 for c in ledger.responses.values() if ledger.dossiers[c] == agency
            )
            acked_petitions = sum(1 for a in ledger.petitions.values() if a == agency)
            assert counted[agency] == (
                stored_dossiers[agency],
                stored_responses.get(agency, 0),
                stored_petitions.get(agency, 0),
            ), agency
            assert stored_dossiers[agency] >= acked_dossiers
            assert stored_responses.get(agency, 0) >= acked_responses
            assert stored_petitions.get(agency, 0) >= acked_petitions
            q3 = live_scores[f"{agency} 2025-Q3"]["counts"]
            q4 = live_scores[f"{agency} 2025-Q4"]["counts"]
            assert q3["resolved_dossiers"] + q4["resolved_dossiers"] == stored_dossiers[agency]

        # -- the webhook backlog of before the kill is delivered after the restart ------------
        events = column(
            engine,
            "SELECT msg_id FROM outbox_event WHERE type IN "
            "('invitation.issued', 'response.submitted', 'petition.created') ORDER BY id",
        )
        backlog = set(events) - arrived_before_kill
        assert backlog, "every event was delivered before the kill: nothing left to resume"

        def delivered() -> set[str]:
            with receiver.lock:
                return {r.headers["webhook-id"] for r in receiver.received}

        wait_until(
            lambda: set(events) <= delivered(),
            DELIVERY_SECONDS,
            f"{len(backlog)} deliveries pending at the kill",
        )
        with receiver.lock:
            received = list(receiver.received)
        webhook = Webhook(secret)
        for delivery in received:
            webhook.verify(delivery.body, delivery.headers)  # raises on a bad signature
        twice = {
            m: n for m, n in Counter(r.headers["webhook-id"] for r in received).items() if n > 1
        }
        # At least once: only a delivery in flight when its worker died may come twice.
        assert len(twice) <= processes and set(twice.values()) <= {2}, twice
        assert set(twice) <= in_flight_at_kill, (twice, in_flight_at_kill)
        print(
            f"\n{backend.name}: {processes} process(es); acknowledged before the kill: "
            f"{len(ledger.dossiers)} handovers, {len(ledger.responses)} answers, "
            f"{len(ledger.petitions)} petitions; {ledger.cut} requests cut by the kill; "
            f"stored: {len(dossiers)} dossiers, {len(answered)} answers; "
            f"{len(events)} events, {len(backlog)} delivered only after the restart, "
            f"{len(twice)} sent twice"
        )
    finally:
        first.stop()
        second.stop()
        engine.dispose()
