"""Receivers: the server a subscription's URL reaches, its origin (scheme, host, port).

A portal may subscribe many times to one URL or host (once per ward, say): the worker sends
to a receiver, not to a subscription, one delivery at a time (worker.py), so that one that
never answers holds a single sending slot however many subscriptions lead to it.
"""

from __future__ import annotations

import httpx
from sqlmodel import Session, col, select

from service.models import WebhookSubscription

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> str:
    """`scheme://host:port`, the host lowercased (IDNA-encoded) and the scheme's default
    port written out: HTTPS://Portal.example/a and https://portal.example:443/b are one
    receiver. A URL that does not parse (none is accepted as a subscription's) is its own."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url
    host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    port = parsed.port or DEFAULT_PORTS.get(parsed.scheme)
    return f"{parsed.scheme}://{host}:{port}"


def by_subscription(session: Session) -> dict[int, str]:
    """Every subscription not deleted (a deleted one is sent nothing), with its receiver. A
    subscription's URL never changes once it is made."""
    rows = session.exec(
        select(WebhookSubscription.id, WebhookSubscription.url).where(
            col(WebhookSubscription.deleted_at).is_(None)
        )
    ).all()
    return {
        subscription_id: origin(url) for subscription_id, url in rows if subscription_id is not None
    }
