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

from service.messaging.channels.base import SendFailed
from service.messaging.channels.email import EmailChannel
from tests.harness.processes import free_port, http_server
from tests.messaging.test_sms_zalo_channels import MESSAGE, sms_channel

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


def test_an_smtp_server_that_trickles_is_cut_off_at_the_timeout(trickling_smtp: int) -> None:
    channel = EmailChannel("127.0.0.1", trickling_smtp, sender="hailong@example.vn", timeout=1.0)
    mail = dataclasses.replace(MESSAGE, channel="email", recipient="a@b.vn", subject="Mời")
    started = time.monotonic()
    with pytest.raises(SendFailed) as failed:
        channel.send(mail)
    assert time.monotonic() - started < 2.0
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


def test_an_sms_gateway_that_trickles_is_cut_off_at_the_timeout() -> None:
    STOP.clear()
    with http_server(_Trickling, free_port()) as base:
        try:
            started = time.monotonic()
            with pytest.raises(SendFailed) as failed:
                sms_channel(base, timeout=1.0).send(MESSAGE)
            assert time.monotonic() - started < 2.0
            assert failed.value.retry and "did not answer within 1 s" in failed.value.reason
        finally:
            STOP.set()
