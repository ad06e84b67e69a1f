"""Delivered deliveries do not live forever: after `webhook_retention_days` the worker
removes finished deliveries (succeeded, or given up), their attempts, and the fanned-out
events no remaining delivery points at. A disabled subscription's pending deliveries wait
for an admin to enable it again, that long too: older ones are removed once it has been
disabled (or deleted, or its owner key revoked or expired) for longer, so that one nothing
is sent to any more does not keep every event for ever."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Delete, Engine, and_, delete, exists, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from service.db import alone, rowcount, transaction
from service.delivery.fan_out import NO_SYNC, stopped_before
from service.models import (
    ApiKey,
    DeliveryAttempt,
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)

CHUNK = 1000  # rows per transaction: a long backlog of old rows never holds a lock long
# "hailongp": one worker prunes at a time; two deleting the same rows would only wait on
# each other.
PRUNE_LOCK = 0x6861696C6F6E6770


@dataclass
class Pruned:
    deliveries: int = 0
    attempts: int = 0
    events: int = 0


def prune(engine: Engine, retention_days: float) -> Pruned:
    cutoff = utcnow() - timedelta(days=retention_days)
    pruned = Pruned()

    def deliveries(session: Session, ids: Sequence[int | None]) -> None:
        attempts = delete(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(ids))
        pruned.attempts += _deleted(session, attempts)
        pruned.deliveries += _deleted(
            session, delete(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids))
        )

    def events(session: Session, ids: Sequence[int | None]) -> None:
        pruned.events += _deleted(session, delete(OutboxEvent).where(col(OutboxEvent.id).in_(ids)))

    # A revoked or expired key's too: they were kept for ever (audit).
    stopped_long_ago = exists().where(
        col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
        col(ApiKey.id) == col(WebhookSubscription.owner_key_id),
        stopped_before(cutoff),
    )
    finished = (
        select(col(WebhookDelivery.id))
        .where(
            or_(
                and_(
                    col(WebhookDelivery.status).in_(("succeeded", "failed")),
                    col(WebhookDelivery.completed_at) < cutoff,
                ),
                and_(
                    col(WebhookDelivery.status) == "pending",
                    col(WebhookDelivery.created_at) < cutoff,
                    stopped_long_ago,
                ),
            )
        )
        .order_by(col(WebhookDelivery.id))
    )
    referenced = exists().where(col(WebhookDelivery.event_id) == col(OutboxEvent.id))
    unreferenced = (
        select(col(OutboxEvent.id))
        .where(col(OutboxEvent.dispatched_at) < cutoff, ~referenced)
        .order_by(col(OutboxEvent.id))
    )
    if _in_chunks(engine, finished, deliveries):
        _in_chunks(engine, unreferenced, events)
    return pruned


def _in_chunks(
    engine: Engine,
    chosen: SelectOfScalar[int | None],
    prune_chunk: Callable[[Session, Sequence[int | None]], None],
) -> bool:
    """`prune_chunk(session, ids)` on the first `CHUNK` ids `chosen` selects, in a
    transaction of its own, again and again until it selects none: True; False at once
    when another worker is pruning (then it prunes the rest)."""
    while True:
        with transaction(engine) as session:
            if not alone(session, PRUNE_LOCK):
                return False
            ids = session.exec(chosen.limit(CHUNK)).all()
            if not ids:
                return True
            prune_chunk(session, ids)


def _deleted(session: Session, statement: Delete) -> int:
    return rowcount(session.execute(statement, execution_options=NO_SYNC))
