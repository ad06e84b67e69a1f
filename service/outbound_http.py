"""Outgoing HTTP calls that end in time whatever the other side does (webhook receivers,
SMS and Zalo providers).

Why: httpx's timeout bounds each socket operation, not the call. A receiver that answers a
byte a second, or streams a body without end, held a sending thread for as long as it
liked — and with it one of the few places every other receiver waits for (a portal with
eight such subscriptions stopped every webhook of the province). Here every connect, read
and write of a call made `within(seconds)` is given only what is left of that time, so the
call ends by then with httpx's own ReadTimeout (or ConnectTimeout, WriteTimeout), and a
body is read up to a size, never whole.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from service.outbound_tls import tls_context

# httpcore's own type of socket options (its name for it is private).
_SocketOptions = Iterable[
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
]
_local = threading.local()  # the deadline of the call this thread is making, if any


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Every socket operation of the calls this thread makes inside ends `seconds` from now
    at the latest (reading the body included, when it is read inside)."""
    _local.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.deadline = None


def _left(timeout: float | None, too_late: type[httpcore.TimeoutException]) -> float | None:
    """An operation's own timeout, cut to what is left of the call's deadline."""
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise too_late("the call took longer than it may")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    """A connection whose every operation keeps to the deadline of the call using it (a
    pooled connection serves one call at a time, on the thread that makes it)."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
        )
        return _Stream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: _SocketOptions | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, left, local_address, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bounded_client(timeout: float, **options: Any) -> httpx.Client:
    """An httpx client whose calls made `within(...)` keep to that time, with the shared TLS
    context. httpx takes no network backend of its own: its transport's connection pool is
    replaced by httpcore's, built with the same settings and ours (tests/test_outbound_http.py
    holds a trickling server to the deadline)."""
    transport = httpx.HTTPTransport(verify=tls_context())
    limits = httpx.Limits()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=tls_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_Backend(),
    )
    return httpx.Client(timeout=timeout, transport=transport, **options)


def read_some(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of a streamed response's body (decoded as sent); the rest is
    left unread (closing the response drops the connection)."""
    got = bytearray()
    for chunk in response.iter_bytes():
        got += chunk
        if len(got) >= limit:
            break
    return bytes(got[:limit])
