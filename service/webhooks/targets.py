"""Where webhooks may go: http(s) only, and only to global addresses unless allowed.

Checked when a subscription is made and again before every attempt, after DNS resolution;
the attempt then connects to the very address that was checked (`Target`), so that a name
resolving inward between the check and the connection (DNS rebinding) reaches nothing.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

import httpx

from service.settings import Network, Settings, parse_networks

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks; the message says why."""


def allowed_networks(settings: Settings) -> list[Network]:
    return parse_networks(settings.webhook_allow_networks)


# Prefixes whose last 32 bits are an IPv4 address: NAT64 (RFC 6052), IPv4-compatible
# (RFC 4291, deprecated) and IPv4-translated (RFC 2765).
_LAST_32_BITS_IPV4 = [
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("::ffff:0:0:0/96"),
]


def _embedded(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 one carries (mapped, 6to4, Teredo, NAT64, and the older
    IPv4-compatible ::a.b.c.d and IPv4-translated ::ffff:0:a.b.c.d forms, which Python
    calls global: ::a9fe:a9fe was taken for the metadata service; audit): 2002:7f00:1::
    is the loopback by another name."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if any(address in prefix for prefix in _LAST_32_BITS_IPV4):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [inner for inner in found if inner is not None]


# Not reachable on the public Internet, though Python 3.11 calls them global: the
# local-use NAT64 prefix (RFC 8215), whose translator is the operator's own, towards its
# own network (64:ff9b:1::a9fe:a9fe was taken for 169.254.169.254, the metadata service;
# audit), and IPv6 site-local addresses (fec0::/10, deprecated, still routed inward).
_NOT_GLOBAL = [ipaddress.ip_network("64:ff9b:1::/48"), ipaddress.ip_network("fec0::/10")]


def _internal(address: IPAddress) -> bool:
    """Anything not reachable on the public Internet: private, loopback, shared address
    space (100.64.0.0/10), IETF protocol assignments (192.0.0.0/24), documentation,
    multicast (a group, no receiver; Python 3.11 calls most of it global), ..."""
    return (
        not address.is_global
        or address.is_multicast
        or any(address in network for network in _NOT_GLOBAL)
        or any(_internal(inner) for inner in _embedded(address))
    )


# Lookups under way at once, at most. getaddrinfo cannot be interrupted: a lookup given up
# by its caller holds its thread until the resolver itself gives up. With four threads for
# the whole process, four names that never resolve (a reader's subscription attempts, each a
# 422) stopped every check, 127.0.0.1's included, and every webhook of the province (audit).
MAX_LOOKUPS = 64
_lookups: dict[str, Future[list[IPAddress]]] = {}  # under way, by host
_lookups_lock = threading.Lock()
# The address each host name last resolved to (the first, the one sent to): the delivery
# worker counts a machine's sending slots by it (delivery/receivers.py). The oldest names
# are forgotten past RESOLVED_KEPT (names a reader tried, never a subscription's).
RESOLVED_KEPT = 4096
_resolved: dict[str, str] = {}


@lru_cache(maxsize=1)
def _resolvers() -> ThreadPoolExecutor:
    # As many threads as lookups may be under way: a new lookup never queues behind others.
    return ThreadPoolExecutor(max_workers=MAX_LOOKUPS, thread_name_prefix="resolve")


def _lookup(host: str, port: int) -> Future[list[IPAddress]]:
    """The lookup of `host` under way, or a new one: a name that hangs holds one thread,
    however often it is asked for (its askers wait on the same lookup)."""
    with _lookups_lock:
        lookup = _lookups.get(host)
        if lookup is not None:
            return lookup
        if len(_lookups) >= MAX_LOOKUPS:
            raise UnsafeTarget(
                f"the host '{host}' was not looked up: {MAX_LOOKUPS} other host names are "
                "still resolving; try again later"
            )
        lookup = _resolvers().submit(resolve, host, port)
        _lookups[host] = lookup
    # Outside the lock: a lookup already done calls it at once, on this thread.
    lookup.add_done_callback(lambda done: _forget(host, done))
    return lookup


def _forget(host: str, lookup: Future[list[IPAddress]]) -> None:
    with _lookups_lock:
        if _lookups.get(host) is lookup:
            del _lookups[host]


def resolve_within(host: str, port: int, seconds: float) -> list[IPAddress]:
    """`resolve`, given up after `seconds`: a resolver slow for one receiver's domain held
    a sending thread past the attempt's timeout and its lease, so that the delivery went
    out twice, and held a request creating a subscription as long (audit). An address is
    taken as it is: nothing to look up, no thread to wait for."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        return _lookup(host, port).result(timeout=seconds)
    except TimeoutError:
        raise UnsafeTarget(f"the host '{host}' did not resolve within {seconds:g} s") from None


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnsafeTarget(f"the host '{host}' does not resolve ({exc.strerror})") from None
    except UnicodeError:  # a label IDNA refuses: empty ("a..b"), or over 63 characters
        raise UnsafeTarget(f"'{host}' is not a valid host name") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if addresses:
        with _lookups_lock:
            _resolved.pop(host, None)  # the newest last: the oldest go first
            _resolved[host] = str(addresses[0])
            if len(_resolved) > RESOLVED_KEPT:
                del _resolved[next(iter(_resolved))]
    return addresses


def address_of(host: str, port: int) -> str | None:
    """The address `host` leads to, without waiting: itself if it is one, else the one it
    last resolved to; None while unknown (a lookup is started, at most one per name)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    known = _resolved.get(host)
    if known is None:
        # Too many names resolving: still unknown, asked again next time.
        with contextlib.suppress(UnsafeTarget):
            _lookup(host, port)
    return known


@dataclass(frozen=True)
class Target:
    """Where an attempt goes: the URL with the checked address in place of the name, and
    what keeps the request addressed to the name (Host header; TLS SNI and certificate)."""

    url: str
    host: str
    extensions: dict[str, str]

    @property
    def headers(self) -> dict[str, str]:
        """The Host, and for https no keep-alive. A pooled connection is keyed by the
        address it goes to, not by the name its certificate was checked for (once, when it
        was opened): kept alive, a connection verified for one portal's host carried the
        next attempt to another portal's host at the same address, whose certificate was
        then never checked (audit). A handshake an attempt is what it costs."""
        closing = {"connection": "close"} if "sni_hostname" in self.extensions else {}
        return {"host": self.host, **closing}


def check_target(url: str, settings: Settings, lookup_seconds: float | None = None) -> Target:
    """Where `url` may be sent to, or UnsafeTarget saying why not; its host's lookup given
    `lookup_seconds` (the webhook timeout unless told)."""
    try:  # an unclosed IPv6 bracket, a port that is not a number or past 65535
        parts = urlsplit(url)
        given_port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("use an http:// or https:// URL with a host name")
    if parts.username or parts.password:
        raise UnsafeTarget("credentials in the URL are not allowed; sign-in is by signature")
    if given_port == 0:  # was taken for "no port": sent to the scheme's default (audit)
        raise UnsafeTarget(
            "port 0 cannot be connected to: name the receiver's port, or none for the default"
        )
    try:  # bộtưpháp.vn goes out as xn--...: a Host header and SNI hold ASCII only. As
        # httpx (and browsers) encode it, IDNA 2008: Python's own codec is IDNA 2003, and
        # sent faß.de to fass.de, another domain (review).
        host = httpx.URL(url).raw_host.decode("ascii")
    except httpx.InvalidURL as exc:
        # httpx says what is wrong, and where: a control character in the path was blamed
        # on the host (audit).
        raise UnsafeTarget(f"not a valid URL ({exc})") from None
    except UnicodeError:
        raise UnsafeTarget(f"{parts.hostname} is not a valid host name") from None
    port = given_port or (443 if parts.scheme == "https" else 80)
    allowed = allowed_networks(settings)
    seconds = settings.webhook_timeout_seconds if lookup_seconds is None else lookup_seconds
    addresses = resolve_within(host, port, seconds)
    for address in addresses:
        if _internal(address) and not any(address in network for network in allowed):
            raise UnsafeTarget(
                f"{parts.hostname} resolves to {address}, an internal address; an operator "
                "can allow it with HAILONG_WEBHOOK_ALLOW_NETWORKS"
            )
    checked = addresses[0]
    literal = f"[{checked}]" if checked.version == 6 else str(checked)
    pinned = parts._replace(netloc=f"{literal}:{port}")
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    named = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    return Target(
        urlunsplit(pinned), named if given_port is None else f"{named}:{given_port}", extensions
    )


DEFAULT_PORTS = {"http": 80, "https": 443}


@lru_cache(maxsize=4096)  # the delivery worker reads every subscription's (receivers.py)
def origin(url: str) -> str:
    """`scheme://host:port`, the host lowercased (IDNA-encoded) and the scheme's default
    port written out: HTTPS://Portal.example/a and https://portal.example:443/b are one
    server (the worker's receivers, the audit log's). Never the path, the query or a
    user:password@, often the receiver's credential. A URL that does not parse (none is
    accepted as a subscription's) is its own."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url
    host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    port = parsed.port or DEFAULT_PORTS.get(parsed.scheme)
    return f"{parsed.scheme}://{host}:{port}"
