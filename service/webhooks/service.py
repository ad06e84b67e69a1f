"""Managing subscriptions and inspecting deliveries."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from sqlalchemy import update
from sqlmodel import Session, col, select

from service.admin.agencies import get_agency_by_code
from service.audit import record
from service.auth.principal import Principal
from service.auth.roles import SUBSCRIBERS
from service.errors import Conflict, NotFound, field_error
from service.models import (
    Agency,
    ApiKey,
    DeliveryAttempt,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from service.models.agency import path_within
from service.settings import Settings
from service.webhooks import outbox, secrets, targets
from service.webhooks.schemas import (
    AttemptPublic,
    DeliveryPublic,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPublic,
)

# The roles that manage webhook subscriptions (a reader its own only: _reaches).


def _public(session: Session, sub: WebhookSubscription) -> SubscriptionPublic:
    agency = session.get(Agency, sub.agency_id) if sub.agency_id else None
    assert sub.public_id
    disabled_at, reason = sub.disabled_at, sub.disabled_reason
    if (stopped := _key_stopped(session, sub)) is not None:
        disabled_at, reason = stopped
    return SubscriptionPublic(
        id=sub.public_id,
        url=sub.url,
        events=list(sub.events),
        agency_code=agency.code if agency else None,
        created_at=sub.created_at,
        disabled_at=disabled_at,
        disabled_reason=reason,
    )


def _key_stopped(session: Session, sub: WebhookSubscription) -> tuple[datetime, str] | None:
    """When and why nothing is sent to it for its owner key: revoked or expired keys'
    subscriptions are sent nothing (fan_out.kept_subscription) but were listed as live,
    without a word (audit), and enabling them changed nothing."""
    key = session.get(ApiKey, sub.owner_key_id)
    if key is None:
        return None
    if key.revoked_at is not None:
        return key.revoked_at, (
            f"its API key was revoked on {key.revoked_at:%Y-%m-%d %H:%M} UTC: nothing more is "
            "sent; subscribe again with the portal's new key"
        )
    if key.expires_at is not None and key.expires_at <= utcnow():
        return key.expires_at, (
            f"its API key expired on {key.expires_at:%Y-%m-%d %H:%M} UTC: nothing more is "
            "sent; subscribe again with the portal's new key"
        )
    return None


# URL checks under way at once, at most, each on a thread waiting for its lookup. Not on
# anyio's default threads (40), on which every unit of work runs: forty subscriptions to a
# name that never resolves held them all for the webhook timeout, and every handover and
# answer waited that long (audit). A check past these waits for a thread here, holding no
# other thread and no transaction. It is not refused (503) after a while: each check ends
# within the webhook timeout (targets.resolve_within), so it waits only for those asked
# before it, all of them subscriptions; a 503 would only have the portal ask again.
URL_CHECKS_AT_ONCE = 8
# A subscription's host lookup, at most (check_url): within a client's own timeout (10 s for
# the Python client), past glibc's 5 s wait on a first nameserver that does not answer.
SUBSCRIBE_LOOKUP_SECONDS = 7.0
LAST_LOOKUP_SECONDS = 1.0  # what a lookup still gets after the wait for a free check
# One limiter per event loop, as anyio keeps its own default one (a limiter's waiters are
# its loop's: shared by two loops, one waited on after the other released it; review).
_url_checks: RunVar[anyio.CapacityLimiter] = RunVar("url_checks")


def _url_check_limiter() -> anyio.CapacityLimiter:
    try:
        return _url_checks.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(URL_CHECKS_AT_ONCE)
        _url_checks.set(limiter)
        return limiter


async def check_url(url: str, settings: Settings) -> None:
    """A 422 on `url` when it may not receive webhooks (targets.check_target). Done in a
    thread of its own (URL_CHECKS_AT_ONCE) before the unit of work that creates the
    subscription (create), it holds no transaction. Inside it, on SQLite, it held the one
    write lock: every handover and answer waited for a reader's DNS (audit). Its lookup
    gets SUBSCRIBE_LOOKUP_SECONDS at most: given the whole webhook timeout (10 s), a host
    that never resolved was answered as a client's own timeout ran out (the Python client's
    is 10 s), which then read a timeout, not the 422 naming the host (client audit). The
    wait for a free check counts in it (review: the ninth of nine subscriptions to silent
    hosts waited a whole lookup first, and was answered after 14 s), down to
    LAST_LOOKUP_SECONDS for the lookup itself."""
    seconds = min(settings.webhook_timeout_seconds, SUBSCRIBE_LOOKUP_SECONDS)
    deadline = time.monotonic() + seconds

    def check() -> None:
        left = max(min(LAST_LOOKUP_SECONDS, seconds), deadline - time.monotonic())
        targets.check_target(url, settings, round(left, 1))

    try:
        await anyio.to_thread.run_sync(check, limiter=_url_check_limiter())
    except targets.UnsafeTarget as exc:
        raise field_error("url", str(exc)) from None


def create(
    session: Session, principal: Principal, payload: SubscriptionCreate, settings: Settings
) -> SubscriptionCreated:
    """The subscription, its URL checked already (check_url)."""
    principal.require_role(*SUBSCRIBERS)
    agency_id = principal.scope_agency_id  # a scoped key subscribes to its own tree
    if payload.agency_code is not None:
        agency = get_agency_by_code(session, payload.agency_code)
        if agency is None:
            raise field_error("agency_code", f"no agency has the code '{payload.agency_code}'")
        principal.require_scope(agency)
        agency_id = agency.id
    # Subscriptions belong to keys: the webhook API takes only keys (officials use the console).
    assert principal.key_id is not None
    secret = secrets.new_secret()
    sub = WebhookSubscription(
        public_id=f"wh_{uuid.uuid4().hex}",
        url=payload.url,
        events=sorted(set(payload.events)),
        agency_id=agency_id,
        owner_key_id=principal.key_id,
        secret_encrypted=secrets.encrypt(settings, secret),
    )
    session.add(sub)
    session.flush()
    record(
        session,
        principal.actor,
        "webhook.create",
        f"webhook:{sub.public_id}",
        {"receiver": targets.origin(sub.url), "events": sub.events},
    )
    return SubscriptionCreated(**_public(session, sub).model_dump(), secret=secret)


def _reaches(session: Session, principal: Principal, sub: WebhookSubscription) -> bool:
    """A key reaches its own subscriptions; an admin also those of the keys it manages
    (admin/keys.py): every one when it is not scoped, else those of keys within its agency.
    Reaching by the subscription's agency let a ward's admin read the URL (and the token
    in it) of the province portal's subscription to the ward, and delete it, cutting the
    province's feed of that ward unknown to it (operations audit)."""
    if sub.owner_key_id == principal.key_id:
        return True
    if principal.role != "admin":
        return False
    if principal.scope_path is None:
        return True
    owner = session.get(ApiKey, sub.owner_key_id)
    owner_agency = session.get(Agency, owner.agency_id) if owner and owner.agency_id else None
    return owner_agency is not None and principal.can_see(owner_agency)


def _owned(session: Session, principal: Principal, public_id: str) -> WebhookSubscription:
    principal.require_role(*SUBSCRIBERS)
    sub = session.exec(
        select(WebhookSubscription).where(
            WebhookSubscription.public_id == public_id,
            col(WebhookSubscription.deleted_at).is_(None),
        )
    ).first()
    # One the key does not reach looks like it does not exist.
    if sub is None or not _reaches(session, principal, sub):
        raise NotFound(f"No webhook subscription has the id '{public_id}'.")
    return sub


def list_subscriptions(session: Session, principal: Principal) -> list[SubscriptionPublic]:
    principal.require_role(*SUBSCRIBERS)
    query = select(WebhookSubscription).where(col(WebhookSubscription.deleted_at).is_(None))
    if principal.role != "admin":
        query = query.where(WebhookSubscription.owner_key_id == principal.key_id)
    subs = session.exec(query.order_by(col(WebhookSubscription.id))).all()
    return [_public(session, s) for s in subs if _reaches(session, principal, s)]


def get(session: Session, principal: Principal, public_id: str) -> SubscriptionPublic:
    return _public(session, _owned(session, principal, public_id))


def delete(session: Session, principal: Principal, public_id: str) -> None:
    sub = _owned(session, principal, public_id)
    sub.deleted_at = utcnow()
    session.add(sub)
    record(session, principal.actor, "webhook.delete", f"webhook:{public_id}", {})


def enable(
    session: Session, principal: Principal, public_id: str, settings: Settings
) -> SubscriptionPublic:
    """Sending again: what waited while it was disabled goes first, in order, each with a
    day of retries from now (as a retry gives)."""
    principal.require_role(*SUBSCRIBERS)
    # Not beside a fan-out: one that had read it disabled held its new deliveries for ever.
    outbox.serialize_fan_out(session)
    sub = _owned(session, principal, public_id)
    if (stopped := _key_stopped(session, sub)) is not None:
        raise Conflict(f"This subscription cannot be enabled: {stopped[1]}.")
    was_disabled = sub.disabled_at is not None
    sub.disabled_at, sub.disabled_reason, sub.failing_since = None, None, None
    sub.held_until = None  # an operator's word that the receiver is back (Retry-After)
    session.add(sub)
    record(session, principal.actor, "webhook.enable", f"webhook:{public_id}", {})
    waiting = [
        col(WebhookDelivery.subscription_id) == sub.id,
        col(WebhookDelivery.status) == "pending",
    ]
    if not was_disabled:
        # A live one's retries keep their backoff; only deliveries held for it while it was
        # disabled are made due (some were left held by a fan-out it was enabled beside,
        # before the lock above, and blocked its agency's later ones: audit).
        waiting.append(col(WebhookDelivery.next_attempt_at) == outbox.HELD_UNTIL)
    now = utcnow()
    session.execute(
        update(WebhookDelivery)
        .where(*waiting)
        .values(
            next_attempt_at=now, give_up_at=now + timedelta(hours=settings.webhook_give_up_hours)
        ),
        execution_options={"synchronize_session": False},
    )
    return _public(session, sub)


def deliveries(
    session: Session, principal: Principal, public_id: str, limit: int, only: int | None = None
) -> list[DeliveryPublic]:
    """The subscription's newest `limit` deliveries (`only`: that one delivery)."""
    sub = _owned(session, principal, public_id)
    query = (
        select(WebhookDelivery, Agency)
        .join(Agency, col(Agency.id) == WebhookDelivery.agency_id)
        .where(WebhookDelivery.subscription_id == sub.id)
    )
    if only is not None:
        query = query.where(WebhookDelivery.id == only)
    if principal.scope_path is not None:
        # Those of an agency since moved out of the key's tree are no longer its to read.
        query = query.where(path_within(col(Agency.path), principal.scope_path))
    rows = session.exec(query.order_by(col(WebhookDelivery.id).desc()).limit(limit)).all()
    ids = [d.id for d, _ in rows]
    attempts: dict[int, list[AttemptPublic]] = {}
    for attempt in session.exec(
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.delivery_id).in_(ids))
        .order_by(col(DeliveryAttempt.id))
    ).all():
        # Every field of AttemptPublic is the row's own, by the same name.
        public = AttemptPublic.model_validate(attempt, from_attributes=True)
        attempts.setdefault(attempt.delivery_id, []).append(public)
    sending = sub.disabled_at is None and _key_stopped(session, sub) is None
    return [
        DeliveryPublic(
            id=d.id or 0,
            webhook_id=d.msg_id,
            type=d.type,
            agency_code=agency.code,
            period=d.period,
            status=d.status,
            attempts=d.attempts,
            # None while disabled (nothing is sent before an admin enables it) or while its
            # key is stopped (nothing is sent at all: review).
            next_attempt_at=_next_attempt(d, sub) if d.status == "pending" and sending else None,
            created_at=d.created_at,
            completed_at=d.completed_at,
            attempt_log=attempts.get(d.id or 0, []),
        )
        for d, agency in rows
    ]


def _next_attempt(delivery: WebhookDelivery, sub: WebhookSubscription) -> datetime:
    """When it goes: its own time, or later while its receiver asked to be left alone."""
    if sub.held_until is not None and sub.held_until > delivery.next_attempt_at:
        return sub.held_until
    return delivery.next_attempt_at


def retry(
    session: Session, principal: Principal, public_id: str, delivery_id: int, settings: Settings
) -> DeliveryPublic:
    sub = _owned(session, principal, public_id)
    delivery = session.get(WebhookDelivery, delivery_id)
    missing = f"Subscription '{public_id}' has no delivery {delivery_id}."
    if delivery is None or delivery.subscription_id != sub.id:
        raise NotFound(missing)
    principal.require_visible(session.get(Agency, delivery.agency_id), missing)
    if (stopped := _key_stopped(session, sub)) is not None:  # a retry sent nothing (review)
        raise Conflict(f"This delivery cannot be sent again: {stopped[1]}.")
    if sub.disabled_at is not None:  # the worker sends a disabled one nothing (audit)
        raise Conflict(
            f"This subscription is disabled ({sub.disabled_reason or 'by an admin'}): enable it "
            f"first (POST /api/v1/webhooks/{public_id}/enable), then retry the delivery."
        )
    if delivery.status == "pending" and delivery.attempts == 0:
        raise Conflict("This delivery has not been attempted yet; it is on its way.")
    now = utcnow()
    delivery.status, delivery.completed_at = "pending", None
    delivery.next_attempt_at = now
    delivery.give_up_at = now + timedelta(hours=settings.webhook_give_up_hours)
    session.add(delivery)
    # Sent now, as the answer says, though the receiver asked to be left alone until later
    # (Retry-After): held, the retry waited up to a day unsaid (review).
    sub.held_until = None
    session.add(sub)
    record(session, principal.actor, "webhook.retry", f"delivery:{delivery_id}", {})
    session.flush()
    # That one delivery, however many came after it (the newest 1,000 only: a 500 for an
    # older one, audit).
    [public] = deliveries(session, principal, public_id, 1, only=delivery_id)
    return public
