"""Outgoing calls end in time whatever the other side does (service/outbound_http.py): a
server that trickles its status line or its body, or streams a body without end, is cut off
at the call's deadline, on a fresh connection and on a kept-alive one alike."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from service import outbound_http
from tests.harness.processes import http_server

STOP = threading.Event()


class Trickling(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _drip(self, data: bytes, every: float = 0.2) -> None:
        for byte in data:
            if STOP.wait(every):
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            if self.path == "/ok":
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            elif self.path == "/slow-head":  # the status line a byte at a time
                self._drip(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            elif self.path == "/slow-body":  # headers at once, then a byte at a time
                self.send_response(200)
                self.send_header("content-length", "100000")
                self.end_headers()
                self._drip(b"x" * 100_000)
            elif self.path == "/endless":  # as fast as it can, without end
                self.send_response(200)
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                chunk = b"x" * 65536
                while not STOP.is_set():
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up: what this test wants

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    STOP.clear()
    with http_server(Trickling) as base:
        try:
            yield base
        finally:
            STOP.set()


def _call(client: httpx.Client, url: str, seconds: float) -> bytes:
    with outbound_http.within(seconds):
        response = client.send(client.build_request("POST", url, content=b"{}"), stream=True)
        try:
            return outbound_http.read_some(response, 1000)
        finally:
            response.close()


@pytest.mark.slow  # waits for the deadline to pass
@pytest.mark.parametrize("path", ["/slow-head", "/slow-body"])
def test_a_trickling_server_is_cut_off_at_the_deadline(server: str, path: str) -> None:
    # Every single read gets an answer well within httpx's own 5 s timeout; only the
    # deadline of the whole call can end it.
    with outbound_http.bounded_client(5) as client:
        assert _call(client, f"{server}/ok", 5) == b"ok"  # a connection kept alive
        started = time.monotonic()
        with pytest.raises(httpx.TimeoutException):
            _call(client, f"{server}{path}", 1.0)
        # Without the deadline the call goes on for minutes; the margin is for a busy CI.
        assert time.monotonic() - started < 5.0


def test_an_endless_body_is_read_up_to_the_limit(server: str) -> None:
    with outbound_http.bounded_client(5) as client:
        started = time.monotonic()
        assert _call(client, f"{server}/endless", 5) == b"x" * 1000
        # Without the deadline the call goes on for minutes; the margin is for a busy CI.
        assert time.monotonic() - started < 5.0


def test_a_call_outside_a_deadline_keeps_httpx_timeouts(server: str) -> None:
    with outbound_http.bounded_client(0.5) as client:
        assert client.post(f"{server}/ok", content=b"{}").content == b"ok"
        with pytest.raises(httpx.ReadTimeout):  # no byte in 0.5 s: httpx's own timeout
            client.post(f"{server}/slow-head", content=b"{}", timeout=0.1)
