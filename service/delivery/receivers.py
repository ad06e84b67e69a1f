"""Receivers: a key's subscriptions to one server, its URL's origin (scheme, host, port).

A portal may subscribe many times to one URL or host (once per ward, say): the worker sends
to a receiver, not to a subscription, one delivery at a time (worker.py), so that one that
never answers holds a single sending slot however many subscriptions lead to it. The key is
part of it: systems of other owners behind one host (a province's integration gateway)
are receivers of their own, and one's hanging path holds up none of the others (review).
Yet a host is one machine: when the whole gateway hangs, its receivers together hold at
most `per_origin_slots` of the worker's slots, and the other hosts keep the rest (a
gateway relaying for as many ward portals as the worker has slots held them all; audit).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session, col, select

from service.models import WebhookSubscription
from service.webhooks.targets import origin


class Receiver(NamedTuple):
    """Who a delivery goes to: the subscription's owner key and its URL's origin."""

    owner_key_id: int
    origin: str


def receiver(owner_key_id: int, url: str) -> Receiver:
    """The receiver of a subscription: its owner key and its URL's origin."""
    return Receiver(owner_key_id, origin(url))


def per_origin_slots(concurrency: int) -> int:
    """The sending slots one origin's receivers may hold together: half of them, so that
    the other hosts always keep the other half, and the owners behind one gateway still
    send side by side (with one slot in all, one hang holds it whatever the rule)."""
    return max(1, concurrency // 2)


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
