"""A provider that answers a byte at a time is cut off at the timeout (found by an audit:
an SMTP server or an SMS gateway that trickled its reply held the message thread past the
row's lease, and the message went again from the next claim)."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.delivery.worker import DeliveryWorker
from service.messaging.channels.base import SendFailed
from service.messaging.channels.email import EmailChannel
from service.models.messaging import OutgoingMessageRow
from service.profile import profile_of
from service.settings import Settings
from tests.conftest import KeyFactory, handover_body, make_settings
from tests.harness.processes import free_port, http_server
from tests.messaging.conftest import Mailbox, SmtpServer, Worker, local
from tests.messaging.test_phone_invitations import esms, sms_fields
from tests.messaging.test_sms_zalo_channels import (
    MESSAGE,
    Provider,
    sms_channel,
)

__all__ = ["esms"]  # the eSMS receiver fixture, used here too
STOP = threading.Event()


@pytest.fixture
def trickling_smtp() -> Iterator[int]:
    """A 'mail server' whose greeting comes a byte every 0.2 s."""
    STOP.clear()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        with listener:
            listener.settimeout(0.2)
            while not STOP.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                with conn:
                    for byte in b"220 mail.example.vn ESMTP ready\r\n" * 100:
                        if STOP.wait(0.2):
                            break
                        try:
                            conn.sendall(bytes([byte]))
                        except OSError:
                            break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    STOP.set()
    thread.join(timeout=5)


@pytest.mark.slow  # waits for the 1 s timeout to pass
def test_an_smtp_server_that_trickles_is_cut_off_at_the_timeout(trickling_smtp: int) -> None:
    channel = EmailChannel("127.0.0.1", trickling_smtp, sender="hailong@example.vn", timeout=1.0)
    mail = dataclasses.replace(MESSAGE, channel="email", recipient="a@b.vn", subject="Mời")
    started = time.monotonic()
    with pytest.raises(SendFailed) as failed:
        channel.send(mail)
    assert time.monotonic() - started < 5.0  # for minutes without the cut; margin for CI
    assert failed.value.retry and "did not finish within 1 s" in failed.value.reason


class _Trickling(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "100000")
            self.end_headers()
            while not STOP.wait(0.2):
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:
            pass

    def log_message(self, *_: object) -> None:
        return


@pytest.mark.slow  # waits for the 1 s timeout to pass
def test_an_sms_gateway_that_trickles_is_cut_off_at_the_timeout() -> None:
    STOP.clear()
    with http_server(_Trickling, free_port()) as base:
        try:
            started = time.monotonic()
            with pytest.raises(SendFailed) as failed:
                sms_channel(base, timeout=1.0).send(MESSAGE)
            assert time.monotonic() - started < 5.0  # for minutes without the cut; margin for CI
            assert failed.value.retry and "did not answer within 1 s" in failed.value.reason
        finally:
            STOP.set()


@pytest.fixture
def settings(database_url: str, esms: Provider, smtp_server: SmtpServer) -> Settings:
    return make_settings(
        database_url,
        **sms_fields(esms),
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_from="hailong@phuong.gov.vn",
        message_http_timeout_seconds=1.0,
    )


@pytest.mark.slow  # eight SMS wait for their timeout: 8 s
@pytest.mark.usefixtures("agencies")
def test_a_gateway_that_does_not_answer_holds_up_no_other_channel(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    settings: Settings,
    engine: sa.Engine,
    mailbox: Mailbox,
) -> None:
    """Messages went one at a time on one thread: four SMS to a gateway that does not answer
    held an unrelated ward's e-mail for four timeouts (audit). Each channel has its own."""
    esms.delay = 30  # never answers within the timeout
    key = make_key("issuer")
    for i in range(8):
        body = handover_body(
            dossier_code=f"G22.39-X-{i}", contact={"phone": "0912 345 678", "consent": True}
        )
        assert client.post("/api/v1/handovers", json=body, headers=key).status_code == 201
    body = handover_body(
        dossier_code="BTH-1", agency_code="79.BTH", contact={"email": "a@b.vn", "consent": True}
    )
    assert client.post("/api/v1/handovers", json=body, headers=key).status_code == 201
    started = time.monotonic()
    round_ = threading.Thread(target=Worker(engine, settings).run, args=(local(1, 10),))
    round_.start()
    while not mailbox.received and time.monotonic() - started < 10.0:
        time.sleep(0.01)
    waited = time.monotonic() - started
    round_.join(timeout=30)
    assert len(mailbox.received) == 1
    # Behind eight SMS of a second each it waited eight; on its own thread, at once (the
    # margin is for a busy CI).
    assert waited < 5.0, f"the e-mail waited {waited:.1f} s for the SMS gateway"
    assert time.monotonic() - started >= 8.0  # the SMS did wait, each its timeout


@pytest.mark.usefixtures("agencies")
def test_a_worker_stopping_waits_for_the_message_under_way_not_the_whole_round(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    settings: Settings,
    engine: sa.Engine,
) -> None:
    """A worker told to stop waited for its SMS lane's whole round: behind a gateway that
    does not answer, up to a hundred timeouts (audit). It waits for the message under
    way; the others stay pending, unclaimed, for the next worker."""
    esms.delay = 30  # never answers within the 1 s timeout
    key = make_key("issuer")
    phone = {"phone": "0912 345 678", "consent": True}
    for i in range(8):
        body = handover_body(dossier_code=f"G22.39-STOP-{i}", contact=phone)
        assert client.post("/api/v1/handovers", json=body, headers=key).status_code == 201
    # Quiet hours off: the worker runs on the real clock, and from 21:00 in Vietnam it would
    # hold every SMS till morning (a clean-clone run at 14:00 UTC never sent the first).
    awake = settings.model_copy(
        update={"message_quiet_start": "00:00", "message_quiet_end": "00:00"}
    )
    worker = DeliveryWorker(engine, awake, profile_of(awake))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not esms.seen:
            assert time.monotonic() < deadline, "the SMS lane never tried its first message"
            time.sleep(0.01)
    finally:  # a worker left running would take the next tests' messages
        stop.set()
        stopping = time.monotonic()
        thread.join(timeout=30)
    waited = time.monotonic() - stopping
    assert not thread.is_alive()
    # One timeout (1 s) for the message under way; the round's other seven would be seven.
    assert waited < 4.0, f"stopping waited {waited:.1f} s for the SMS round"
    outgoing = OutgoingMessageRow.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(outgoing.c.status, outgoing.c.attempts, outgoing.c.lease_until).where(
                outgoing.c.channel == "sms", outgoing.c.kind == "invitation"
            )
        ).all()
    assert len(rows) == 8 and all(status == "pending" for status, _, _ in rows)
    untouched = [row for row in rows if row.attempts == 0]
    assert len(untouched) >= 5 and all(row.lease_until is None for row in untouched)
