"""Sending: lease the next delivery, sign its body, POST it, record the attempt; retry
with backoff, give up after a while, disable a subscription that keeps failing (or whose
receiver answers 410 Gone, at once).

Several workers send side by side. On PostgreSQL candidates are picked with FOR UPDATE
SKIP LOCKED, and every claim is a compare-and-set on a lease, so two workers never send the
same attempt — on SQLite too. No transaction stays open across the HTTP call: a worker
killed mid-send leaves the delivery pending, its lease lapses and another sends it again
(at least once, never lost). Claiming and sending are apart (claim, send) so that a worker
sends to several receivers at once (worker.py).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

import httpx
from cryptography.fernet import InvalidToken
from sqlalchemy import BindParameter, Engine, and_, bindparam, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from standardwebhooks.webhooks import Webhook

from service import outbound_http
from service.admin.agencies import paths_by_id
from service.audit import record
from service.db import rowcount, transaction
from service.delivery import fan_out, receivers
from service.delivery.fan_out import NO_SYNC, live_subscription
from service.delivery.stats import failure_reason
from service.models import (
    Agency,
    ApiKey,
    DeliveryAttempt,
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from service.ops.observability import Metrics
from service.periods import parse_period
from service.profile import Profile
from service.scoring import service as scores
from service.settings import Settings
from service.text_clean import storable_text
from service.webhooks import secrets, targets

SNIPPET = 300  # of the receiver's answer, kept with the attempt
GONE = 410
NO_KEY_UPDATE = {"key_share": True}  # SQLAlchemy's words for FOR NO KEY UPDATE
GONE_REASON = "the receiver answered 410 Gone: it no longer wants these events"
OUT_OF_SCOPE_REASON = (
    "not sent: its agency has moved out of this subscription's scope (the subscription's "
    "agency, or its key's), and a score is computed when it is sent"
)
# The retry delay doubles no further: 2 ** 64 times any base above 4e-14 s is past the
# largest maximum. Uncapped, the 1,025th failure overflowed a float: the attempt was never
# recorded, and the delivery went out again at every lease's end, for ever (audit).
MAX_DOUBLINGS = 64
# Standard Webhooks: a receiver's Retry-After on a 429 or a 503 "should be taken into
# consideration when scheduling the next attempt"; it was ignored, and a portal asking for
# ten minutes got the same event again within seconds (contract audit). Heeded up to a day
# and never past the delivery's give-up time (Sender._next_attempt).
RETRY_AFTER_STATUSES = frozenset({429, 503})
MAX_RETRY_AFTER_SECONDS = 86_400
MAX_RETRY_AFTER = timedelta(seconds=MAX_RETRY_AFTER_SECONDS)  # a day

log = logging.getLogger("hailong.webhooks")


def _lease_free(now: Any) -> Any:
    """Not leased, or its lease has run out."""
    lease_until = col(WebhookDelivery.lease_until)
    return or_(lease_until.is_(None), lease_until < now)


def _not_held(now: Any) -> Any:
    """Its receiver has not asked to be left alone until later (Retry-After)."""
    held_until = col(WebhookSubscription.held_until)
    return or_(held_until.is_(None), held_until <= now)


@lru_cache(maxsize=1)
def _next_delivery() -> Any:
    """The oldest eligible delivery (see Sender.claim) of a subscription not in `busy`,
    locked. Built once, with `now` and `busy` bind parameters: building it, with its aliased
    table, cost more than running it — under load, 40 % of the worker's CPU (py-spy,
    2026-11-24)."""
    earlier = aliased(WebhookDelivery)
    # Typed like the column: on SQLite a datetime is compared as the text it is stored as.
    now = bindparam("now", type_=WebhookDelivery.__table__.c.next_attempt_at.type)  # type: ignore[attr-defined]
    busy: BindParameter[int] = bindparam("busy", expanding=True)
    return (
        select(
            WebhookDelivery.id,
            WebhookDelivery.subscription_id,
            WebhookSubscription.owner_key_id,
            WebhookSubscription.url,
        )
        .join(
            WebhookSubscription,
            col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
        )
        .join(ApiKey, col(ApiKey.id) == col(WebhookSubscription.owner_key_id))
        .where(
            col(WebhookDelivery.status) == "pending",
            col(WebhookDelivery.next_attempt_at) <= now,
            _lease_free(now),
            col(WebhookDelivery.subscription_id).not_in(busy),
            *live_subscription(now),
            _not_held(now),
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


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    subscription_id: int
    lease: datetime
    receiver: receivers.Receiver  # the subscription's key and URL origin


class Sender:
    """Thread-safe: the worker's sending threads share one (engine and httpx.Client are)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        profile: Profile,
        client: httpx.Client,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.profile = profile
        self.client = client
        self.metrics = metrics

    def deliver_one(self) -> bool:
        """Send the next due delivery, if any; whether there was one."""
        claimed = self.claim()
        if claimed is None:
            return False
        self.send(claimed)
        return True

    def send(self, claim: Claim) -> None:
        """Send a claimed delivery and record the outcome; one its subscription no longer
        wants is failed unsent (_still_wanted)."""
        with transaction(self.engine) as session:
            delivery = session.get(WebhookDelivery, claim.delivery_id)
            assert delivery is not None
            subscription = session.get(WebhookSubscription, delivery.subscription_id)
            assert subscription is not None
            if not _still_wanted(session, subscription, delivery):
                _settle_out_of_scope(session, claim)
                return
            occurred_at, data = self._event(session, delivery)
            body = json.dumps(
                # Standard Webhooks: the body's timestamp is when the event occurred, the
                # same on every retry; the webhook-timestamp header is the time of sending.
                {"type": delivery.type, "timestamp": occurred_at.isoformat(), "data": data},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            msg_id, secret, url = delivery.msg_id, subscription.secret_encrypted, subscription.url
        # No transaction open while sending.
        attempt, not_before = self._send(url, secret, msg_id, claim.delivery_id, body, utcnow())
        self._observe(attempt)
        self._record(claim, msg_id, attempt, not_before)

    def _record(
        self,
        claim: Claim,
        msg_id: str,
        attempt: DeliveryAttempt,
        not_before: datetime | None = None,
    ) -> None:
        """The attempt, and its outcome while the delivery is still this worker's."""
        with transaction(self.engine) as session:
            session.add(attempt)
            # The attempt's INSERT first: on SQLite it takes the write lock, so what is read
            # next is the latest. On PostgreSQL the rows are locked: the subscription's first,
            # as enabling it locks them (webhooks/service.py), and neither against the inserts
            # that refer to them (NO KEY UPDATE). A fan-out refreshing the delivery meanwhile
            # (fan_out.py) is either seen here or waits for the outcome.
            session.flush()
            subscription = session.get(
                WebhookSubscription, claim.subscription_id, with_for_update=NO_KEY_UPDATE
            )
            delivery = session.get(
                WebhookDelivery, claim.delivery_id, with_for_update=NO_KEY_UPDATE
            )
            assert subscription is not None and delivery is not None
            if delivery.lease_until != claim.lease:
                # Our lease lapsed mid-send and another worker took over: record what we
                # saw, leave the outcome to the worker that holds the delivery now.
                return
            delivery.attempts += 1
            delivery.lease_until = None
            if attempt.error is not None:
                self._failed(session, subscription, delivery, attempt, not_before)
                return
            subscription.failing_since = None
            if delivery.msg_id == msg_id:
                delivery.status, delivery.completed_at = "succeeded", utcnow()
            else:
                # A fan-out gave it a newer score and id while this send went on, its lease
                # lapsed: what was sent is old already. Marked succeeded, the newer score
                # was never sent (audit); it goes now.
                delivery.next_attempt_at = utcnow()

    def _observe(self, attempt: DeliveryAttempt) -> None:
        if self.metrics is None:
            return
        self.metrics.webhook_latency.observe((attempt.latency_ms or 0) / 1000)
        if attempt.error is not None:
            self.metrics.webhook_failures.labels(failure_reason(attempt)).inc()

    def claim(self, busy: Collection[int] = ()) -> Claim | None:
        """Lease the next eligible delivery, in a short transaction of its own; none of a
        subscription in `busy` (one whose receiver this worker is sending to already).

        Only the oldest pending delivery per subscription and agency is eligible, so events
        reach each receiver in order per agency, even after an outage. The lease — not a
        transaction held open across the HTTP call — keeps other workers off it.
        """
        with transaction(self.engine) as session:
            now = utcnow()
            row = session.exec(_next_delivery(), params={"now": now, "busy": list(busy)}).first()
            if row is None:
                return None
            candidate, subscription_id, owner_key_id, url = row
            lease = now + self._lease_length()
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
            if not rowcount(leased):
                return None
            return Claim(candidate, subscription_id, lease, receivers.receiver(owner_key_id, url))

    def release(self, claim: Claim) -> None:
        """Give a claimed delivery back unsent (still due), while it is still this worker's."""
        with transaction(self.engine) as session:
            session.execute(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id) == claim.delivery_id,
                    col(WebhookDelivery.lease_until) == claim.lease,
                )
                .values(lease_until=None),
                execution_options=NO_SYNC,
            )

    def _lease_length(self) -> timedelta:
        """How long a claim holds its delivery: the attempt, which ends within the timeout
        however long its DNS lookup takes (_send), plus the margin for building the body
        and recording the outcome. Past it another worker may send the delivery."""
        return timedelta(
            seconds=self.settings.webhook_timeout_seconds
            + self.settings.webhook_lease_margin_seconds
        )

    def _event(
        self, session: Session, delivery: WebhookDelivery
    ) -> tuple[datetime, dict[str, Any]]:
        """When the event occurred, and its data. A score.updated one is the score as it is
        now; it occurred when the score was marked changed (fan_out.py keeps that time as
        the delivery's created_at)."""
        if delivery.type == "score.updated":
            agency = session.get(Agency, delivery.agency_id)
            assert agency is not None and delivery.period is not None
            score = scores.scores(session, [agency], parse_period(delivery.period), self.profile)
            return delivery.created_at, score[0].model_dump(mode="json")
        event = session.get(OutboxEvent, delivery.event_id)
        assert event is not None
        return event.created_at, dict(event.payload)

    def _send(
        self,
        url: str,
        encrypted_secret: str,
        msg_id: str,
        delivery_id: int,
        body: str,
        at: datetime,
    ) -> tuple[DeliveryAttempt, datetime | None]:
        """The attempt, and until when the receiver asked to be left alone (Retry-After on
        a 429 or 503), if it did."""
        attempt = DeliveryAttempt(delivery_id=delivery_id, at=at)
        not_before: datetime | None = None
        started = time.perf_counter()
        try:
            secret = secrets.decrypt(self.settings, encrypted_secret)
            signature = Webhook(secret).sign(msg_id, at, body)
            headers = {
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": signature,
                "content-type": "application/json",
                "user-agent": "hailong-webhooks/1",
            }
            # The whole attempt within the timeout, from the DNS lookup to the answer's first
            # bytes: a slow resolver and a receiver trickling or streaming without end hold
            # up only themselves, and then not for longer (outbound_http.py) — nor past the
            # lease (claim): a lookup taking the timeout, then the call as long again, let
            # another worker send the same delivery beside this one (audit).
            deadline = time.monotonic() + self.settings.webhook_timeout_seconds
            target = targets.check_target(url, self.settings)
            request = self.client.build_request(
                "POST",
                target.url,
                content=body.encode(),
                headers={**headers, **target.headers},
                extensions=target.extensions,
            )
            with outbound_http.within(deadline - time.monotonic()):
                response = self.client.send(request, stream=True)
                try:
                    start = outbound_http.read_some(response, 4 * SNIPPET)  # UTF-8: ≤ 4 a char
                finally:
                    response.close()
            attempt.status_code = response.status_code
            # Kept as text in the attempt's row: a receiver's NUL would fail its INSERT, and
            # the delivery would be sent again and again (PostgreSQL text holds no NUL).
            attempt.response_snippet = storable_text(_text(start, response.encoding)[:SNIPPET])
            if not response.is_success:
                attempt.error = f"HTTP {response.status_code}"
            if response.status_code in RETRY_AFTER_STATUSES:
                not_before = _retry_after(response.headers.get("retry-after"), utcnow())
        except InvalidToken:
            attempt.error = (
                "cannot decrypt this subscription's signing secret: was "
                "HAILONG_WEBHOOK_ENCRYPTION_KEY (or the signing key) changed?"
            )
        except targets.UnsafeTarget as exc:
            attempt.error = storable_text(f"refused target: {exc}"[:500])
        except httpx.HTTPError as exc:
            attempt.error = storable_text(f"{type(exc).__name__}: {exc}"[:500])
        except Exception as exc:
            # Whatever else a receiver's answer (or the URL) makes go wrong is this attempt's
            # failure: raised, no attempt was recorded and the delivery, never backed off
            # nor given up, went out again at every lease's end, holding up its successors.
            log.exception("webhook delivery %s failed unexpectedly", delivery_id)
            attempt.error = storable_text(f"{type(exc).__name__}: {exc}"[:500])
        attempt.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return attempt, not_before

    def _backoff(self, attempts: int) -> timedelta:
        doublings = min(max(0, attempts - 1), MAX_DOUBLINGS)
        base = self.settings.webhook_retry_base_seconds * 2**doublings
        delay = min(self.settings.webhook_retry_max_seconds, base)
        return timedelta(seconds=delay * random.uniform(0.5, 1.0))  # jitter spreads retries

    def _next_attempt(
        self, now: datetime, delivery: WebhookDelivery, not_before: datetime | None
    ) -> datetime:
        """The backoff's time, or later when the receiver asked for longer (Retry-After):
        up to a day, and no later than the give-up time — a receiver asking past it gets
        one last attempt then (failed, it gives up), not a delivery given up unsent. The
        receiver's hold (receivers.hold) is not cut to this give-up time: it is about every
        event going to that server, so the last attempt comes when the hold ends."""
        backoff = now + self._backoff(delivery.attempts)
        if not_before is None:
            return backoff
        return max(backoff, min(not_before, now + MAX_RETRY_AFTER, delivery.give_up_at))

    def _failed(
        self,
        session: Session,
        subscription: WebhookSubscription,
        delivery: WebhookDelivery,
        attempt: DeliveryAttempt,
        not_before: datetime | None = None,
    ) -> None:
        now = utcnow()
        giving_up = now >= delivery.give_up_at
        if giving_up:
            delivery.status, delivery.completed_at = "failed", now
        else:
            delivery.next_attempt_at = self._next_attempt(now, delivery, not_before)
        if not_before is not None:
            held = min(not_before, now + MAX_RETRY_AFTER)
            # The attempt log says why nothing goes to this receiver meanwhile.
            attempt.error = f"{attempt.error}; Retry-After: nothing sent before {held:%H:%M:%S} UTC"
            receivers.hold(session, subscription, held)
        subscription.failing_since = subscription.failing_since or now
        failing_for = now - subscription.failing_since
        if subscription.disabled_at is not None:
            # Disabled already, by another send's answer (two agencies' deliveries under
            # way at once): one record, and its time kept for the pruning (review).
            pass
        elif attempt.status_code == GONE:
            # Standard Webhooks: 410 says the endpoint is gone for good; it was retried for
            # a day like any failure. Its events wait for it, as below, until it is enabled.
            _disable(session, subscription, now, GONE_REASON)
        elif failing_for >= timedelta(days=self.settings.webhook_disable_after_days):
            _disable(
                session,
                subscription,
                now,
                f"Disabled after failing since {subscription.failing_since:%Y-%m-%d %H:%M} UTC;"
                f" last error: {attempt.error}",
            )
        elif giving_up and not _still_retrying(session, subscription, delivery):
            # The failing stretch ends with its last delivery given up: only a success
            # cleared it, so that after a quiet spell one failure days later disabled the
            # subscription at once, as if it had failed all along (audit).
            subscription.failing_since = None


def _still_wanted(
    session: Session, subscription: WebhookSubscription, delivery: WebhookDelivery
) -> bool:
    """Whether the fan-out would make this delivery now (fan_out.Target.wants: the rule is
    written once), for a score.updated, whose data is computed when it is sent. Its agency
    may have moved out of the subscription's agency, or its key's, since: the portal then
    got the scores of an agency no longer its own, work done after the move included
    (audit). An event whose data was fixed when it occurred, while the agency was the
    portal's, is still its own: a portal that was down lost them (review)."""
    if delivery.type != "score.updated":
        return True
    owner = session.get(ApiKey, subscription.owner_key_id)
    assert owner is not None
    agencies = (delivery.agency_id, subscription.agency_id, owner.agency_id)
    paths = paths_by_id(session, {agency for agency in agencies if agency is not None})

    def path(agency_id: int | None) -> str | None:
        return None if agency_id is None else paths[agency_id]

    target = fan_out.Target(
        subscription, path(subscription.agency_id), path(owner.agency_id), owner.agency_id
    )
    return target.wants(delivery.type, paths[delivery.agency_id])


def _settle_out_of_scope(session: Session, claim: Claim) -> None:
    """Fail a delivery the subscription no longer wants, unsent, for good, the reason in
    its attempt log as every failure's; a compare-and-set on the lease, as a claim, so that
    it is settled only while it is still this worker's. Not the receiver's failure: its
    subscription's failing stretch is left as it is."""
    now = utcnow()
    settled = session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == claim.delivery_id,
            col(WebhookDelivery.status) == "pending",
            col(WebhookDelivery.lease_until) == claim.lease,
        )
        .values(
            status="failed",
            completed_at=now,
            lease_until=None,
            attempts=col(WebhookDelivery.attempts) + 1,
        ),
        execution_options=NO_SYNC,
    )
    if rowcount(settled):
        session.add(
            DeliveryAttempt(delivery_id=claim.delivery_id, at=now, error=OUT_OF_SCOPE_REASON)
        )
        log.info("webhook delivery %s not sent: %s", claim.delivery_id, OUT_OF_SCOPE_REASON)


def _still_retrying(
    session: Session, subscription: WebhookSubscription, given_up: WebhookDelivery
) -> bool:
    """Whether another delivery of the subscription has failed and waits to be tried again."""
    return (
        session.exec(
            select(WebhookDelivery.id).where(
                WebhookDelivery.subscription_id == subscription.id,
                WebhookDelivery.status == "pending",
                col(WebhookDelivery.attempts) > 0,
                WebhookDelivery.id != given_up.id,
            )
        ).first()
        is not None
    )


def _disable(
    session: Session, subscription: WebhookSubscription, now: datetime, reason: str
) -> None:
    """Nothing more is sent to it, its events are kept, until an admin enables it
    (webhooks/service.py); the reason is shown with the subscription, and written in the
    audit log beside the enabling, by the worker (ops audit: only the enabling was there)."""
    subscription.disabled_at, subscription.disabled_reason = now, reason[:500]
    record(
        session,
        "worker",
        "webhook.disable",
        f"webhook:{subscription.public_id}",
        {"reason": subscription.disabled_reason},
    )
    log.warning("webhook subscription %s disabled: %s", subscription.public_id, reason)


def _retry_after(value: str | None, now: datetime) -> datetime | None:
    """Until when a Retry-After header asks to wait (RFC 9110: delta-seconds, or an
    HTTP-date), at most a day from `now`; None when absent, unreadable or already past —
    the backoff alone then."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        # Capped before it is a timedelta: a receiver's thousand digits overflow one.
        wait = timedelta(seconds=int(value) if len(value) <= 7 else MAX_RETRY_AFTER_SECONDS)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000": UTC, by RFC 5322's words
            when = when.replace(tzinfo=UTC)
        wait = when - now
    return now + min(wait, MAX_RETRY_AFTER) if wait > timedelta(0) else None


def _text(start: bytes, encoding: str | None) -> str:
    """The answer's first bytes as text, in its charset when that is a text codec
    (a receiver may name "base64", or anything, and Python then has no text decoder)."""
    try:
        return start.decode(encoding or "utf-8", errors="replace")
    except LookupError:
        return start.decode("utf-8", errors="replace")
