"""One attempt: within its time and lease whatever DNS takes, stamped with when its event
happened, recorded and backed off however many came before, a receiver answering 410 Gone is not
sent to again, and an attempt never rides a connection verified for another host name."""

from __future__ import annotations

import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, func, select, update

from service.db import transaction
from service.delivery.worker import DeliveryWorker
from service.models import (
    DeliveryAttempt,
    OutboxEvent,
    ScoreDirty,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from service.outbound_tls import tls_context
from service.webhooks import targets
from tests.conftest import DbFactory, KeyFactory, free_port, handover_body
from tests.messaging.test_smtp_starttls import self_signed
from tests.webhooks.conftest import Received, Receiver, drain, hooks
from tests.webhooks.test_deliveries import subscribe, verify_all

pytestmark = pytest.mark.usefixtures("agencies")


def deliveries(client: TestClient, headers: dict[str, str], sub: dict[str, Any]) -> Any:
    listed = client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=headers)
    assert listed.status_code == 200, listed.text
    return listed.json()["data"]


@pytest.mark.slow  # a resolver that takes 3 s, then the lease
def test_an_attempt_slow_to_resolve_still_ends_within_its_lease(
    database_url: str, make_key: KeyFactory, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease is the timeout plus a margin, but an attempt could spend up to the timeout
    resolving the name and then the timeout again on the HTTP call: past its lease another
    worker took the delivery and sent the same webhook-id beside it (audit). Now one
    deadline holds the whole attempt. The name resolves slowly (stood in for), the receiver
    answers only after the test."""
    real_resolve = targets.resolve
    slow = threading.Event()

    def resolve(host: str, port: int) -> list[Any]:
        if host == "slow-dns.test" and slow.is_set():
            time.sleep(3)  # within the timeout on its own
        return real_resolve("127.0.0.1" if host == "slow-dns.test" else host, port)

    monkeypatch.setattr(targets, "resolve", resolve)
    answer = threading.Event()

    def answer_after_the_test(_: Received) -> None:
        answer.wait(10)

    receiver.on_post = answer_after_the_test
    port = receiver.url.split(":")[2].split("/")[0]
    with hooks(
        database_url,
        # Lookup and call each within 4 s, together past the lease of 4 + 2 s; one deadline
        # ends it at 4 s, 2 s inside its lease (room for a loaded machine).
        webhook_timeout_seconds=4,
        webhook_lease_margin_seconds=2,
        webhook_retry_base_seconds=3600,
        webhook_retry_max_seconds=3600,
    ) as (client, worker):
        admin = make_key("admin")
        url = f"http://slow-dns.test:{port}/hooks"
        sub = subscribe(client, admin, url, events=["invitation.issued"])
        client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))
        with transaction(worker.engine) as session:
            assert worker.dispatch_events(session) == 1
        slow.set()
        claim = worker.sender.claim()
        assert claim is not None
        try:
            worker.sender.send(claim)
            ended = utcnow()
        finally:
            answer.set()
        [delivery] = deliveries(client, admin, sub)
    # Ended (and recorded) while its lease held: no other worker could have sent it beside.
    assert ended < claim.lease, ended - claim.lease
    assert delivery["attempts"] == 1 and "Timeout" in delivery["attempt_log"][0]["error"]


def test_the_body_timestamp_is_when_the_event_happened_the_same_on_every_retry(
    hook_app: tuple[TestClient, DeliveryWorker],
    make_key: KeyFactory,
    receiver: Receiver,
    db: DbFactory,
) -> None:
    """It was the time of sending, another on every retry of the same webhook-id. Standard
    Webhooks: the body's timestamp is when the event occurred; the webhook-timestamp header
    stays the time of sending (what the signature's freshness is judged by)."""
    client, worker = hook_app
    admin = make_key("admin")
    sub = subscribe(client, admin, receiver.url, events=["invitation.issued", "score.updated"])
    client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))
    happened = utcnow() - timedelta(hours=1)  # the handover, as if an hour ago
    with db() as session:
        session.execute(update(OutboxEvent).values(created_at=happened))
        session.execute(update(ScoreDirty).values(marked_at=happened))
    drain(worker)
    for delivery in deliveries(client, admin, sub):
        retry = f"/api/v1/webhooks/{sub['id']}/deliveries/{delivery['id']}/retry"
        assert client.post(retry, headers=admin).status_code == 200
    resent_after = int(utcnow().timestamp())
    drain(worker)

    sent: defaultdict[str, list[Received]] = defaultdict(list)
    for got in receiver.received:
        sent[got.headers["webhook-id"]].append(got)
    assert {got.json["type"] for got in receiver.received} == {"invitation.issued", "score.updated"}
    assert [len(times) for times in sent.values()] == [2] * 4  # the event, three periods
    for first, again in sent.values():
        assert datetime.fromisoformat(first.json["timestamp"]) == happened
        assert again.json["timestamp"] == first.json["timestamp"]
        assert int(again.headers["webhook-timestamp"]) >= resent_after  # when it was sent
    verify_all(receiver, sub["secret"])


def test_a_delivery_failing_past_1024_attempts_is_still_recorded_and_backed_off(
    database_url: str, make_key: KeyFactory, receiver: Receiver, db: DbFactory
) -> None:
    """The backoff doubled the base once per attempt before taking the maximum: past 1,024
    attempts (a retry maximum of a second and a day's retries make 100,000) it overflowed a
    float. The attempt was never recorded, and the delivery went out again at every
    lease's end, never backed off nor given up (audit)."""
    with hooks(database_url, webhook_retry_base_seconds=0.5, webhook_retry_max_seconds=1) as (
        client,
        worker,
    ):
        subscribe(client, make_key("admin"), receiver.url, events=["invitation.issued"])
        receiver.status = 500
        client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))
        worker.run_once()  # the first failed attempt
        with db() as session:
            session.execute(update(WebhookDelivery).values(attempts=1100, next_attempt_at=utcnow()))
        worker.run_once()
        with db() as session:
            delivery = session.exec(select(WebhookDelivery)).one()
            recorded = session.exec(select(func.count()).select_from(DeliveryAttempt)).one()
    assert recorded == 2
    assert (delivery.attempts, delivery.status, delivery.lease_until) == (1101, "pending", None)
    assert delivery.next_attempt_at <= utcnow() + timedelta(seconds=1)  # the maximum


def test_a_receiver_answering_410_gone_is_disabled_at_once_and_can_be_enabled(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    """410 was retried for a day like any failure. Standard Webhooks: 410 Gone says the
    endpoint no longer wants these events; the subscription is disabled with the reason,
    its events kept for it, as after days of failures."""
    client, worker = hook_app
    admin = make_key("admin")
    sub = subscribe(client, admin, receiver.url, events=["invitation.issued"])
    receiver.status = 410
    client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))
    drain(worker)
    state = client.get(f"/api/v1/webhooks/{sub['id']}", headers=admin).json()
    assert state["disabled_at"] is not None
    assert state["disabled_reason"] == (
        "the receiver answered 410 Gone: it no longer wants these events"
    )
    [waiting] = deliveries(client, admin, sub)
    assert (waiting["status"], waiting["attempts"], waiting["next_attempt_at"]) == (
        "pending",
        1,
        None,
    )
    # The audit log says who disabled it and why, beside the enabling (ops audit: it held
    # only the enabling, and an IT centre could not tell why the events had stopped).
    [disabled] = client.get(
        "/api/v1/audit", params={"action": "webhook.disable"}, headers=admin
    ).json()["data"]
    assert (disabled["actor"], disabled["target"]) == ("worker", f"webhook:{sub['id']}")
    assert disabled["detail"] == {"reason": state["disabled_reason"]}
    receiver.status = 200
    for _ in range(3):
        worker.run_once()
    assert receiver.received == []  # disabled: nothing is sent
    # A retry answered 200 and re-armed the delivery, and the worker sent it nothing
    # (webhook audit): it says what to do first.
    retry = f"/api/v1/webhooks/{sub['id']}/deliveries/{waiting['id']}/retry"
    refused = client.post(retry, headers=admin)
    assert refused.status_code == 409, refused.text
    assert "disabled" in refused.json()["detail"] and "/enable" in refused.json()["detail"]

    assert client.post(f"/api/v1/webhooks/{sub['id']}/enable", headers=admin).is_success
    drain(worker, until=lambda: len(receiver.received) == 1)
    assert receiver.received[0].headers["webhook-id"] == waiting["webhook_id"]
    state = client.get(f"/api/v1/webhooks/{sub['id']}", headers=admin).json()
    assert (state["disabled_at"], state["disabled_reason"]) == (None, None)


def test_a_failing_stretch_ends_when_its_last_delivery_gives_up(
    database_url: str, make_key: KeyFactory, receiver: Receiver, db: DbFactory
) -> None:
    """failing_since was cleared only by a success: a day of failures, its delivery given
    up, then days without an event, and one failure of the next event disabled the
    subscription at once, as if it had failed all along (audit)."""
    with hooks(database_url, webhook_give_up_hours=0.00001) as (client, worker):  # at once
        admin, issuer = make_key("admin"), make_key("issuer")
        sub = subscribe(client, admin, receiver.url, events=["invitation.issued"])
        receiver.status = 502
        client.post("/api/v1/handovers", json=handover_body(), headers=issuer)

        def statuses() -> list[str]:
            return [d["status"] for d in deliveries(client, admin, sub)]

        drain(worker, until=lambda: statuses() == ["failed"])
        assert statuses() == ["failed"]
        # Four days pass with no event (the stretch, if still open, began before them).
        with db() as session:
            session.exec(
                update(WebhookSubscription)
                .where(col(WebhookSubscription.failing_since).is_not(None))
                .values(failing_since=utcnow() - timedelta(days=4))
            )
        later = handover_body(dossier_code="LATER-1")
        assert client.post("/api/v1/handovers", json=later, headers=issuer).is_success
        drain(worker, until=lambda: statuses() == ["failed", "failed"])
        assert statuses() == ["failed", "failed"]  # tried, failed, given up: not disabled
        state = client.get(f"/api/v1/webhooks/{sub['id']}", headers=admin).json()
        assert state["disabled_at"] is None, state["disabled_reason"]


class _Hosts:
    """The Host of every request an HTTPS receiver answered."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.lock = threading.Lock()


def _keep_alive_handler(hosts: _Hosts) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as most receivers

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            with hosts.lock:
                hosts.seen.append(self.headers["host"])
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_: object) -> None:
            return

    return Handler


@pytest.fixture
def good_example_receiver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[int, _Hosts]]:
    """An HTTPS receiver on 127.0.0.1 with a (trusted) certificate for good.example only;
    every name resolves to 127.0.0.1."""
    certificate = self_signed(tmp_path, "good.example", ip=None)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    tls_context.cache_clear()
    real_resolve = targets.resolve
    monkeypatch.setattr(targets, "resolve", lambda host, port: real_resolve("127.0.0.1", port))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert, certificate.key)
    hosts = _Hosts()
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _keep_alive_handler(hosts))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield port, hosts
    finally:
        server.shutdown()
        server.server_close()
        tls_context.cache_clear()


def test_another_hosts_events_never_ride_a_connection_verified_for_a_different_host(
    database_url: str, make_key: KeyFactory, good_example_receiver: tuple[int, _Hosts]
) -> None:
    """An attempt connects to the checked address, the certificate checked against the
    subscription's host name (TLS SNI) when the connection is opened. Connections were
    pooled by address alone: one opened, and verified, for good.example was reused for
    portal-b.example at the same address, whose certificate was then never checked, and
    its signed events went to a server that could not prove to be it (audit)."""
    port, hosts = good_example_receiver
    with hooks(database_url, webhook_concurrency=1) as (client, worker):
        issuer = make_key("issuer")
        engine = client.app.state.engine  # type: ignore[attr-defined]
        # Alone, portal-b.example's delivery fails: the server cannot prove to be it.
        victim = subscribe(
            client,
            make_key("reader"),
            f"https://portal-b.example:{port}/hooks",
            events=["invitation.issued"],
        )
        body = handover_body(dossier_code="TLS-1", agency_code="79.BTH")
        assert client.post("/api/v1/handovers", json=body, headers=issuer).status_code == 201
        worker.run_once()
        with transaction(engine) as session:
            errors = session.exec(select(DeliveryAttempt.error)).all()
        assert len(errors) == 1 and "CERTIFICATE_VERIFY_FAILED" in (errors[0] or ""), errors
        assert hosts.seen == []
        # Then good.example, at the same address, is sent to first (a connection kept
        # alive)...
        subscribe(
            client,
            make_key("reader"),
            f"https://good.example:{port}/hooks",
            events=["invitation.issued"],
        )
        body = handover_body(dossier_code="TLS-2", agency_code="79.SGN")
        assert client.post("/api/v1/handovers", json=body, headers=issuer).status_code == 201
        drain(worker, until=lambda: len(hosts.seen) >= 1)
        # ... and portal-b.example's retry is made due.
        with transaction(engine) as session:
            session.execute(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.subscription_id)
                    == select(WebhookSubscription.id)
                    .where(WebhookSubscription.public_id == victim["id"])
                    .scalar_subquery()
                )
                .values(next_attempt_at=utcnow())
            )
        for _ in range(3):
            worker.run_once()
        assert hosts.seen == [f"good.example:{port}"]
        with transaction(engine) as session:
            errors = session.exec(select(DeliveryAttempt.error)).all()
        assert sum("CERTIFICATE_VERIFY_FAILED" in (e or "") for e in errors) >= 2, errors


def test_two_sends_answered_410_at_once_disable_the_subscription_once(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    """Two deliveries of one subscription under way at once (two agencies, two workers),
    both answered 410: each disabled it again, two webhook.disable records and the time of
    disabling moved on, which the pruning of disabled subscriptions reads (review)."""
    client, worker = hook_app
    admin = make_key("admin")
    sub = subscribe(client, admin, receiver.url, events=["invitation.issued"])
    receiver.status = 410
    issuer = make_key("issuer")
    for agency in ("79.BTH", "79.SGN"):
        body = handover_body(agency_code=agency, dossier_code=f"GONE-{agency}")
        assert client.post("/api/v1/handovers", json=body, headers=issuer).status_code == 201
    with transaction(client.app.state.engine) as session:  # type: ignore[attr-defined]
        worker.dispatch_events(session)
    first, second = worker.sender.claim(), worker.sender.claim()  # as two workers would
    assert first is not None and second is not None

    def disabled_at() -> str:
        at: str = client.get(f"/api/v1/webhooks/{sub['id']}", headers=admin).json()["disabled_at"]
        return at

    worker.sender.send(first)
    disabled = disabled_at()
    assert disabled is not None
    worker.sender.send(second)
    assert disabled_at() == disabled
    records = client.get(
        "/api/v1/audit", params={"action": "webhook.disable"}, headers=admin
    ).json()["data"]
    assert len(records) == 1, records
