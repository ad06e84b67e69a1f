"""What /metrics says about deliveries: the backlog per subscription (read from the
database when scraped, so it is right whichever process sends) and the class of a failed
attempt (a few fixed values: a metric label, never the error text)."""

from __future__ import annotations

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from service.models import DeliveryAttempt, WebhookDelivery, WebhookSubscription


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
    API shows (wh_...); deleted and disabled subscriptions left out (a disabled one's
    events wait for it to be enabled, and are no backlog of a receiver being sent to)."""
    with Session(engine) as session:
        rows = session.exec(
            select(WebhookSubscription.public_id, func.count())
            .select_from(WebhookDelivery)
            .join(
                WebhookSubscription,
                col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
            )
            .where(
                col(WebhookDelivery.status) == "pending",
                col(WebhookSubscription.deleted_at).is_(None),
                col(WebhookSubscription.disabled_at).is_(None),
            )
            .group_by(col(WebhookSubscription.public_id))
        ).all()
    return {subscription_id: count for subscription_id, count in rows}
