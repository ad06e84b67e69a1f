"""The delivery worker: fans events out to subscriptions and sends them, signed.

Runs inside `hailong serve` (a thread) or alone as `hailong worker`. On PostgreSQL several
workers share the work: rows are claimed with FOR UPDATE SKIP LOCKED and the HTTP call is
made while the claim is held, so two workers never send the same attempt. A worker killed
mid-send leaves the row pending, and another sends it again: at least once, never lost.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, and_, exists
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from standardwebhooks.webhooks import Webhook

from service.db import transaction
from service.models import (
    Agency,
    DeliveryAttempt,
    OutboxEvent,
    ScoreDirty,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from service.scoring import service as scores
from service.scoring.periods import parse_period
from service.scoring.profile import Profile
from service.settings import Settings
from service.webhooks import secrets, targets
from service.webhooks.outbox import new_msg_id

log = logging.getLogger("hailong.worker")
BATCH = 200
SNIPPET = 300


class Target:
    """A subscription with what matching needs, loaded once per batch."""

    def __init__(self, subscription: WebhookSubscription, scope_path: str | None) -> None:
        self.subscription = subscription
        self.scope_path = scope_path

    def wants(self, event_type: str, agency_path: str) -> bool:
        return event_type in self.subscription.events and (
            self.scope_path is None or agency_path.startswith(self.scope_path)
        )


class DeliveryWorker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        profile: Profile,
        client: httpx.Client | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.profile = profile
        self.client = client or httpx.Client(
            timeout=settings.webhook_timeout_seconds, follow_redirects=False
        )

    # -- fan-out -------------------------------------------------------------------------
    def _targets(self, session: Session) -> list[Target]:
        rows = session.exec(
            select(WebhookSubscription, Agency.path)
            .join(Agency, col(Agency.id) == col(WebhookSubscription.agency_id), isouter=True)
            .where(
                col(WebhookSubscription.disabled_at).is_(None),
                col(WebhookSubscription.deleted_at).is_(None),
            )
        ).all()
        return [Target(subscription, path) for subscription, path in rows]

    def _paths(self, session: Session, agency_ids: set[int]) -> dict[int, str]:
        rows = session.exec(
            select(Agency.id, Agency.path).where(col(Agency.id).in_(agency_ids))
        ).all()
        return {agency_id: path for agency_id, path in rows if agency_id is not None}

    def dispatch_events(self, session: Session) -> int:
        events = session.exec(
            select(OutboxEvent)
            .where(col(OutboxEvent.dispatched_at).is_(None))
            .order_by(col(OutboxEvent.id))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        if not events:
            return 0
        targets_ = self._targets(session)
        paths = self._paths(session, {e.agency_id for e in events})
        now = utcnow()
        give_up = now + timedelta(hours=self.settings.webhook_give_up_hours)
        for event in events:
            for target in targets_:
                if target.wants(event.type, paths[event.agency_id]):
                    assert target.subscription.id is not None
                    session.add(
                        WebhookDelivery(
                            subscription_id=target.subscription.id,
                            agency_id=event.agency_id,
                            msg_id=event.msg_id,
                            type=event.type,
                            event_id=event.id,
                            next_attempt_at=now,
                            give_up_at=give_up,
                        )
                    )
            event.dispatched_at = now
            session.add(event)
        return len(events)

    def dispatch_scores(self, session: Session) -> int:
        dirty = session.exec(
            select(ScoreDirty)
            .order_by(col(ScoreDirty.marked_at))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        if not dirty:
            return 0
        targets_ = [t for t in self._targets(session) if "score.updated" in t.subscription.events]
        paths = self._paths(session, {d.agency_id for d in dirty})
        now = utcnow()
        for marker in dirty:
            for target in targets_:
                if not target.wants("score.updated", paths[marker.agency_id]):
                    continue
                pending = session.exec(
                    select(WebhookDelivery).where(
                        WebhookDelivery.subscription_id == target.subscription.id,
                        WebhookDelivery.agency_id == marker.agency_id,
                        WebhookDelivery.period == marker.period,
                        WebhookDelivery.status == "pending",
                    )
                ).first()
                if pending is not None:
                    # The score it would send is computed at send time: one pending delivery
                    # per agency and period, and the latest score wins. A new id, since the
                    # event it now carries is a newer one.
                    pending.msg_id = new_msg_id()
                    session.add(pending)
                    continue
                assert target.subscription.id is not None
                session.add(
                    WebhookDelivery(
                        subscription_id=target.subscription.id,
                        agency_id=marker.agency_id,
                        msg_id=new_msg_id(),
                        type="score.updated",
                        period=marker.period,
                        next_attempt_at=now,
                        give_up_at=now + timedelta(hours=self.settings.webhook_give_up_hours),
                    )
                )
            session.delete(marker)
        return len(dirty)

    # -- sending -------------------------------------------------------------------------
    def _claim(self, session: Session) -> WebhookDelivery | None:
        earlier = aliased(WebhookDelivery)
        now = utcnow()
        # Only the oldest pending delivery per subscription and agency is eligible: events
        # reach each receiver in order per agency, even after an outage.
        return session.exec(
            select(WebhookDelivery)
            .join(
                WebhookSubscription,
                col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
            )
            .where(
                WebhookDelivery.status == "pending",
                col(WebhookDelivery.next_attempt_at) <= now,
                col(WebhookSubscription.disabled_at).is_(None),
                col(WebhookSubscription.deleted_at).is_(None),
                ~exists().where(
                    and_(
                        col(earlier.subscription_id) == col(WebhookDelivery.subscription_id),
                        col(earlier.agency_id) == col(WebhookDelivery.agency_id),
                        col(earlier.status) == "pending",
                        col(earlier.id) < col(WebhookDelivery.id),
                    )
                ),
            )
            .order_by(col(WebhookDelivery.id))
            .limit(1)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        ).first()

    def _data(self, session: Session, delivery: WebhookDelivery) -> dict[str, Any]:
        if delivery.type == "score.updated":
            agency = session.get(Agency, delivery.agency_id)
            assert agency is not None and delivery.period is not None
            score = scores.scores(session, [agency], parse_period(delivery.period), self.profile)
            return score[0].model_dump(mode="json")
        event = session.get(OutboxEvent, delivery.event_id)
        assert event is not None
        return dict(event.payload)

    def _backoff(self, attempts: int) -> timedelta:
        base = self.settings.webhook_retry_base_seconds * 2 ** max(0, attempts - 1)
        delay = min(self.settings.webhook_retry_max_seconds, base)
        return timedelta(seconds=delay * random.uniform(0.5, 1.0))  # jitter spreads retries

    def _send(
        self, subscription: WebhookSubscription, delivery: WebhookDelivery, body: str, at: datetime
    ) -> DeliveryAttempt:
        secret = secrets.decrypt(self.settings, subscription.secret_encrypted)
        signature = Webhook(secret).sign(delivery.msg_id, at, body)
        headers = {
            "webhook-id": delivery.msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
            "user-agent": "hailong-webhooks/1",
        }
        attempt = DeliveryAttempt(delivery_id=delivery.id or 0, at=at)
        started = time.perf_counter()
        try:
            targets.check_target(subscription.url, self.settings)
            response = self.client.post(subscription.url, content=body.encode(), headers=headers)
            attempt.status_code = response.status_code
            attempt.response_snippet = response.text[:SNIPPET]
            if not response.is_success:
                attempt.error = f"HTTP {response.status_code}"
        except targets.UnsafeTarget as exc:
            attempt.error = f"refused target: {exc}"[:500]
        except httpx.HTTPError as exc:
            attempt.error = f"{type(exc).__name__}: {exc}"[:500]
        attempt.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return attempt

    def deliver_one(self) -> bool:
        with transaction(self.engine) as session:
            delivery = self._claim(session)
            if delivery is None:
                return False
            subscription = session.get(WebhookSubscription, delivery.subscription_id)
            assert subscription is not None
            now = utcnow()
            data = self._data(session, delivery)
            body = json.dumps(
                {"type": delivery.type, "timestamp": now.isoformat(), "data": data},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            attempt = self._send(subscription, delivery, body, now)
            session.add(attempt)
            delivery.attempts += 1
            if attempt.error is None:
                delivery.status, delivery.completed_at = "succeeded", utcnow()
                subscription.failing_since = None
            else:
                self._failed(subscription, delivery, attempt)
            session.add(delivery)
            session.add(subscription)
        return True

    def _failed(
        self, subscription: WebhookSubscription, delivery: WebhookDelivery, attempt: DeliveryAttempt
    ) -> None:
        now = utcnow()
        if now >= delivery.give_up_at:
            delivery.status, delivery.completed_at = "failed", now
        else:
            delivery.next_attempt_at = now + self._backoff(delivery.attempts)
        subscription.failing_since = subscription.failing_since or now
        failing_for = now - subscription.failing_since
        if failing_for >= timedelta(days=self.settings.webhook_disable_after_days):
            subscription.disabled_at = now
            subscription.disabled_reason = (
                f"Disabled after failing since {subscription.failing_since:%Y-%m-%d %H:%M} UTC;"
                f" last error: {attempt.error}"
            )[:500]

    # -- loop ----------------------------------------------------------------------------
    def run_once(self) -> int:
        with transaction(self.engine) as session:
            work = self.dispatch_events(session)
        with transaction(self.engine) as session:
            work += self.dispatch_scores(session)
        while self.deliver_one():
            work += 1
        return work

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    stop.wait(self.settings.worker_poll_seconds)
            except Exception:  # a broken row or a database blip must not kill the worker
                log.exception("webhook worker iteration failed; retrying")
                stop.wait(max(1.0, self.settings.worker_poll_seconds))


def start_embedded(
    engine: Engine, settings: Settings, profile: Profile
) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    worker = DeliveryWorker(engine, settings, profile)
    thread = threading.Thread(
        target=worker.run_forever, args=(stop,), name="webhook-worker", daemon=True
    )
    thread.start()
    return thread, stop
