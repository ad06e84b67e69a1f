"""Receivers: a key's subscriptions to one server, its URL's origin (scheme, host, port).

A portal may subscribe many times to one URL or host (once per ward, say): the worker sends
to a receiver, not to a subscription, one delivery at a time (worker.py), so that one that
never answers holds a single sending slot however many subscriptions lead to it. The key is
part of it: systems of other owners behind one host (a province's integration gateway)
are receivers of their own, and one's hanging path holds up none of the others (review).
Yet a host is one machine: when the whole gateway hangs, its receivers together hold at
most `share_slots` of the worker's slots, and the other machines keep the rest (a
gateway relaying for as many ward portals as the worker has slots held them all; audit).
A machine is the address its names lead to, whatever name or port a URL reaches it by.
And a key is one owner: its receivers on many machines (a portal subscribing once per
ward, each ward's host its own) hold at most as many slots together, or as many hanging
hosts as the worker has slots held them all (webhook audit).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from service.models import WebhookSubscription
from service.webhooks.targets import DEFAULT_PORTS, address_of, origin


class Receiver(NamedTuple):
    """Who a delivery goes to: the subscription's owner key and its URL's origin."""

    owner_key_id: int
    origin: str


def receiver(owner_key_id: int, url: str) -> Receiver:
    """The receiver of a subscription: its owner key and its URL's origin."""
    return Receiver(owner_key_id, origin(url))


def share_slots(concurrency: int) -> int:
    """The sending slots one machine's receivers, or one owner key's, may hold together:
    half of them, so that the other machines and owners always keep the other half, and
    the owners behind one gateway still send side by side (with one slot in all, one hang
    holds it whatever the rule)."""
    return max(1, concurrency // 2)


# The machine of receivers whose host name has not resolved yet: they share one half of
# the slots until it has (milliseconds, usually), rather than each counting as a machine.
UNRESOLVED = "?"


def machine(receiver: Receiver) -> str:
    """The address a receiver's origin leads to: one gateway reached under several names
    or ports is one machine. Counted by the URL's spelling, a hung gateway reached as
    127.0.0.1 and localhost, or on four ports, held every slot (webhook audit)."""
    parts = urlsplit(receiver.origin)
    if parts.hostname is None:
        return receiver.origin
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
    except ValueError:
        return receiver.origin
    return address_of(parts.hostname, port) or UNRESOLVED


Share = tuple[str, str | int]  # ("machine", its address) or ("owner", the key's id)


def shares(receiver: Receiver, machine_of: str) -> tuple[Share, Share]:
    """What a receiver shares its slots with: its machine's other receivers, and its owner
    key's."""
    return ("machine", machine_of), ("owner", receiver.owner_key_id)


def by_subscription(session: Session) -> dict[int, Receiver]:
    """Every subscription not deleted (a deleted one is sent nothing), with its receiver. A
    subscription's URL never changes once it is made; its key does, when rotated."""
    rows = session.exec(
        select(
            WebhookSubscription.id, WebhookSubscription.owner_key_id, WebhookSubscription.url
        ).where(col(WebhookSubscription.deleted_at).is_(None))
    ).all()
    return {
        subscription_id: receiver(owner, url)
        for subscription_id, owner, url in rows
        if subscription_id is not None
    }


def hold(session: Session, subscription: WebhookSubscription, until: datetime) -> None:
    """Every subscription of `subscription`'s receiver sent nothing before `until` (a
    Retry-After: about the next request to that server, not one event); a later hold that
    another answer asked for is kept."""
    asked_by = receiver(subscription.owner_key_id, subscription.url)
    # The others without waiting for their locks: one locked is having an attempt recorded
    # by another worker (two waiting on each other's subscriptions would deadlock), and
    # its receiver's next answer will hold it if it must.
    siblings = session.exec(
        select(WebhookSubscription)
        .where(
            WebhookSubscription.owner_key_id == subscription.owner_key_id,
            WebhookSubscription.id != subscription.id,
            col(WebhookSubscription.deleted_at).is_(None),
        )
        .with_for_update(skip_locked=True, key_share=True)
    ).all()
    for sibling in [subscription, *siblings]:
        if receiver(sibling.owner_key_id, sibling.url) != asked_by:
            continue
        if sibling.held_until is None or sibling.held_until < until:
            sibling.held_until = until
            session.add(sibling)
