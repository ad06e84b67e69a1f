"""Where webhooks may go: http(s) only, and no internal addresses unless allowed.

Checked when a subscription is made and again before every attempt, after DNS resolution,
so a name that later resolves inward (DNS rebinding) is caught too.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from service.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks; the message says why."""


def allowed_networks(settings: Settings) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in settings.webhook_allow_networks.split(","):
        if item.strip():
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
    return networks


def _internal(address: IPAddress) -> bool:
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnsafeTarget(f"the host '{host}' does not resolve ({exc.strerror})") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def check_target(url: str, settings: Settings) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("use an http:// or https:// URL with a host name")
    if parts.username or parts.password:
        raise UnsafeTarget("credentials in the URL are not allowed; sign-in is by signature")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    allowed = allowed_networks(settings)
    for address in resolve(parts.hostname, port):
        if _internal(address) and not any(address in network for network in allowed):
            raise UnsafeTarget(
                f"{parts.hostname} resolves to {address}, an internal address; an operator "
                "can allow it with HAILONG_WEBHOOK_ALLOW_NETWORKS"
            )
