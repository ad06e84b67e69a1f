"""What /metrics says about deliveries: the backlog per subscription (read from the
database when scraped, so it is right whichever process sends) and the class of a failed
attempt (a few fixed values: a metric label, never the error text)."""

from __future__ import annotations

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from service.delivery.fan_out import live_subscription
from service.models import ApiKey, DeliveryAttempt, WebhookDelivery, WebhookSubscription, utcnow


def failure_reason(attempt: DeliveryAttempt) -> str:
    """timeout, connect, network, refused_target, http_4xx, http_5xx or http_other."""
    error = attempt.error or ""
    if error.startswith("refused target"):
        return "refused_target"
    if attempt.status_code is not None:
        if 400 <= attempt.status_code < 500:
            return "http_4xx"
        if attempt.status_code >= 500:
            return "http_5xx"
        return "http_other"
    name = error.split(":", 1)[0]
    if "Timeout" in name:
        return "timeout"
    if name == "ConnectError":
        return "connect"
    return "network"


def backlog(engine: Engine) -> dict[str, int]:
    """Pending deliveries (due now or waiting for a retry) per subscription, by the id the
    API shows (wh_...); only of subscriptions sent to (fan_out.live_subscription): a
    disabled one's events wait for it to be enabled, and a deleted one's, or a revoked or
    expired key's, are never sent (counted, they were a backlog for ever: audit)."""
    with Session(engine) as session:
        rows = session.exec(
            select(WebhookSubscription.public_id, func.count())
            .select_from(WebhookDelivery)
            .join(
                WebhookSubscription,
                col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
            )
            .join(ApiKey, col(ApiKey.id) == col(WebhookSubscription.owner_key_id))
            .where(col(WebhookDelivery.status) == "pending", *live_subscription(utcnow()))
            .group_by(col(WebhookSubscription.public_id))
        ).all()
    return {subscription_id: count for subscription_id, count in rows}
