"""The delivery worker: fans events out to subscriptions and sends them, signed.

Runs inside `hailong serve` (a thread) or alone as `hailong worker`. Several workers share
the work: on PostgreSQL candidates are picked with FOR UPDATE SKIP LOCKED, and every claim
is a compare-and-set (a lease on a delivery, a mark on an event), so two workers never send
the same attempt — on SQLite too. A worker killed mid-send leaves the delivery pending and
its lease lapses; another sends it again: at least once, never lost.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import httpx
from sqlalchemy import Engine, and_, bindparam, delete, exists, insert, or_, text, tuple_, update
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
from service.scoring import aging
from service.scoring import service as scores
from service.scoring.periods import parse_period
from service.scoring.profile import Profile
from service.settings import Settings
from service.webhooks import outbox, secrets, targets
from service.webhooks.outbox import new_msg_id

log = logging.getLogger("hailong.worker")
# Events or markers fanned out per round. A round costs about ten statements whatever its
# size; under a steady 1,500 handovers/s a batch of 200 left a backlog after every poll, so
# the embedded worker ran rounds back to back: 8.5 % of a server process's GIL time (py-spy),
# 3.8 % with 1,000.
BATCH = 1000
AGING_LOOKBACK = timedelta(days=1)  # petition deadlines re-announced after a restart
SNIPPET = 300
NO_SYNC = {"synchronize_session": False}
FAN_OUT_LOCK = 0x6861696C6F6E67  # "hailong": the advisory lock key of the fan-out step


class Target:
    """A subscription with what matching needs, loaded once per batch."""

    def __init__(self, subscription: WebhookSubscription, scope_path: str | None) -> None:
        self.subscription = subscription
        self.scope_path = scope_path

    def wants(self, event_type: str, agency_path: str) -> bool:
        return event_type in self.subscription.events and (
            self.scope_path is None or agency_path.startswith(self.scope_path)
        )


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def _lease_free(now: Any) -> Any:
    """Not leased, or its lease has run out."""
    lease_until = col(WebhookDelivery.lease_until)
    return or_(lease_until.is_(None), lease_until < now)


@lru_cache(maxsize=1)
def _next_delivery() -> Any:
    """The oldest eligible delivery (see _claim), locked. Built once, with `now` a bind
    parameter: building it, with its aliased table, cost more than running it — under
    load, 40 % of the worker's CPU (py-spy, 2026-11-24)."""
    earlier = aliased(WebhookDelivery)
    # Typed like the column: on SQLite a datetime is compared as the text it is stored as.
    now = bindparam("now", type_=WebhookDelivery.__table__.c.next_attempt_at.type)  # type: ignore[attr-defined]
    return (
        select(WebhookDelivery.id)
        .join(
            WebhookSubscription,
            col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
        )
        .where(
            col(WebhookDelivery.status) == "pending",
            col(WebhookDelivery.next_attempt_at) <= now,
            _lease_free(now),
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
        # Petitions age with no event (service/scoring/aging.py): each round announces the
        # scores whose open petitions passed their deadline since the last. From a day back
        # at start, so a restart misses none (markers are coalesced: repeats cost nothing).
        self._deadlines_seen_until = utcnow() - AGING_LOOKBACK

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

    def _new_delivery(
        self,
        target: Target,
        agency_id: int,
        msg_id: str,
        event_type: str,
        event_id: int | None = None,
        period: str | None = None,
    ) -> dict[str, Any]:
        """A delivery row, for one Core INSERT per fan-out (no ORM object per delivery)."""
        now = utcnow()
        return {
            "subscription_id": target.subscription.id,
            "agency_id": agency_id,
            "msg_id": msg_id,
            "type": event_type,
            "event_id": event_id,
            "period": period,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "lease_until": None,
            "give_up_at": now + timedelta(hours=self.settings.webhook_give_up_hours),
            "created_at": now,
            "completed_at": None,
        }

    @staticmethod
    def _insert_deliveries(session: Session, rows: list[dict[str, Any]]) -> None:
        # In list order, so that delivery ids follow event order.
        if rows:
            session.execute(insert(WebhookDelivery), rows)

    @staticmethod
    def _serialize_fan_out(session: Session) -> None:
        """One fan-out at a time (PostgreSQL): deliveries then get ids in event order, which
        is the order they are sent in. Two workers fanning out side by side would let the
        second batch of events overtake the first. Sending stays parallel."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FAN_OUT_LOCK})

    def dispatch_events(self, session: Session) -> int:
        """Fan out up to BATCH undispatched events, oldest first; returns how many."""
        self._serialize_fan_out(session)
        pending = exists().where(col(OutboxEvent.dispatched_at).is_(None))
        if not session.execute(select(pending)).scalar():
            return 0  # idle: a read, not a write (on SQLite a write waits for the one lock)
        targets_ = self._targets(session)
        oldest = (
            select(OutboxEvent.id)
            .where(col(OutboxEvent.dispatched_at).is_(None))
            .order_by(col(OutboxEvent.id))
            .limit(BATCH)
        )
        # Taken in one statement, the ids never leaving the database; a compare-and-set on
        # dispatched_at, so that on SQLite (no advisory lock) a second worker finds them taken.
        take = (
            update(OutboxEvent)
            .where(
                col(OutboxEvent.id).in_(oldest.scalar_subquery()),
                col(OutboxEvent.dispatched_at).is_(None),
            )
            .values(dispatched_at=utcnow())
        )
        if not targets_:  # nobody to tell: only mark them
            return _rowcount(session.execute(take, execution_options=NO_SYNC))
        taken = session.execute(
            take.returning(
                col(OutboxEvent.id),
                col(OutboxEvent.msg_id),
                col(OutboxEvent.type),
                col(OutboxEvent.agency_id),
            ),
            execution_options=NO_SYNC,
        ).all()
        if not taken:
            return 0
        paths = self._paths(session, {agency_id for _, _, _, agency_id in taken})
        rows = [
            self._new_delivery(target, agency_id, msg_id, event_type, event_id=event_id)
            for event_id, msg_id, event_type, agency_id in sorted(taken)
            for target in targets_
            if target.wants(event_type, paths[agency_id])
        ]
        self._insert_deliveries(session, rows)
        return len(taken)

    def dispatch_scores(self, session: Session) -> int:
        """Turn up to BATCH score markers, oldest first, into deliveries; returns how many."""
        self._serialize_fan_out(session)
        if not session.execute(select(exists().select_from(ScoreDirty))).scalar():
            return 0
        targets_ = [t for t in self._targets(session) if "score.updated" in t.subscription.events]
        key = tuple_(col(ScoreDirty.agency_id), col(ScoreDirty.period))
        oldest = (
            select(ScoreDirty.agency_id, ScoreDirty.period)
            .order_by(col(ScoreDirty.marked_at))
            .limit(BATCH)
        )
        # Taken in one statement; a marker another worker took is not taken again.
        take = delete(ScoreDirty).where(key.in_(oldest))
        if not targets_:  # nobody to tell
            return _rowcount(session.execute(take, execution_options=NO_SYNC))
        markers = session.execute(
            take.returning(col(ScoreDirty.agency_id), col(ScoreDirty.period)),
            execution_options=NO_SYNC,
        ).all()
        if not markers:
            return 0
        paths = self._paths(session, {agency_id for agency_id, _ in markers})
        rows = []
        for agency_id, period in sorted(markers):
            for target in targets_:
                if not target.wants("score.updated", paths[agency_id]):
                    continue
                # One pending delivery per agency and period: its score is computed at send
                # time, so the latest score wins. It gets a new id: it now carries a newer
                # event than the one it was made for.
                refreshed = session.execute(
                    update(WebhookDelivery)
                    .where(
                        col(WebhookDelivery.subscription_id) == target.subscription.id,
                        col(WebhookDelivery.agency_id) == agency_id,
                        col(WebhookDelivery.period) == period,
                        col(WebhookDelivery.status) == "pending",
                    )
                    .values(msg_id=new_msg_id()),
                    execution_options=NO_SYNC,
                )
                if not _rowcount(refreshed):
                    rows.append(
                        self._new_delivery(
                            target, agency_id, new_msg_id(), "score.updated", period=period
                        )
                    )
        self._insert_deliveries(session, rows)
        return len(markers)

    # -- sending -------------------------------------------------------------------------
    def _claim(self) -> tuple[int, datetime] | None:
        """Lease the next eligible delivery, in a short transaction of its own.

        Only the oldest pending delivery per subscription and agency is eligible, so events
        reach each receiver in order per agency, even after an outage. The lease — not a
        transaction held open across the HTTP call — keeps other workers off it.
        """
        with transaction(self.engine) as session:
            now = utcnow()
            candidate = session.exec(_next_delivery(), params={"now": now}).first()
            if candidate is None:
                return None
            lease = now + timedelta(
                seconds=self.settings.webhook_timeout_seconds
                + self.settings.webhook_lease_margin_seconds
            )
            leased = session.execute(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id) == candidate,
                    col(WebhookDelivery.status) == "pending",
                    _lease_free(now),
                )
                .values(lease_until=lease),
                execution_options=NO_SYNC,
            )
            return (candidate, lease) if _rowcount(leased) else None

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
        self,
        url: str,
        encrypted_secret: str,
        msg_id: str,
        delivery_id: int,
        body: str,
        at: datetime,
    ) -> DeliveryAttempt:
        secret = secrets.decrypt(self.settings, encrypted_secret)
        signature = Webhook(secret).sign(msg_id, at, body)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
            "user-agent": "hailong-webhooks/1",
        }
        attempt = DeliveryAttempt(delivery_id=delivery_id, at=at)
        started = time.perf_counter()
        try:
            targets.check_target(url, self.settings)
            response = self.client.post(url, content=body.encode(), headers=headers)
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
        claimed = self._claim()
        if claimed is None:
            return False
        delivery_id, lease = claimed
        with transaction(self.engine) as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            assert delivery is not None
            subscription = session.get(WebhookSubscription, delivery.subscription_id)
            assert subscription is not None
            now = utcnow()
            body = json.dumps(
                {
                    "type": delivery.type,
                    "timestamp": now.isoformat(),
                    "data": self._data(session, delivery),
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            msg_id, secret, url = delivery.msg_id, subscription.secret_encrypted, subscription.url
        attempt = self._send(url, secret, msg_id, delivery_id, body, now)  # no transaction open
        with transaction(self.engine) as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            assert delivery is not None
            subscription = session.get(WebhookSubscription, delivery.subscription_id)
            assert subscription is not None
            session.add(attempt)
            if delivery.lease_until != lease:
                # Our lease lapsed mid-send and another worker took over: record what we
                # saw, leave the outcome to the worker that holds the delivery now.
                return True
            delivery.attempts += 1
            delivery.lease_until = None
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

    def mark_aged_scores(self, session: Session) -> None:
        """score.updated for the scores a passing petition deadline changed."""
        until = utcnow()
        keys = aging.deadlines_passed(session, self.profile, self._deadlines_seen_until, until)
        outbox.mark_periods_dirty(session, outbox.dirty_periods(keys))
        self._deadlines_seen_until = until

    # -- loop ----------------------------------------------------------------------------
    def run_once(self) -> int:
        work, _ = self._round()
        return work

    def _round(self) -> tuple[int, bool]:
        """Fan out, then send what is due. Returns the work done, and whether a full batch
        of events or markers says that more are waiting."""
        with transaction(self.engine) as session:
            events = self.dispatch_events(session)
        with transaction(self.engine) as session:
            self.mark_aged_scores(session)
        with transaction(self.engine) as session:
            markers = self.dispatch_scores(session)
        work = events + markers
        while self.deliver_one():
            work += 1
        return work, BATCH in (events, markers)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                # Under a steady load a round finds a few new events every time: waiting a
                # poll between rounds lets them gather into one fan-out, instead of a busy
                # loop of tiny ones taking the CPU from the requests beside it (embedded).
                _, backlog = self._round()
                if not backlog:
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
