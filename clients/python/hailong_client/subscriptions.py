"""Records for webhook subscriptions and their deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from hailong_client._json import JSON, to_datetime, to_datetime_or_none, to_float_or_none

EventType = Literal[
    "response.submitted",
    "score.updated",
    "petition.created",
    "petition.updated",
    "invitation.issued",
    "alert.raised",
]


@dataclass(frozen=True)
class Webhook:
    """A subscription. `disabled_reason` says why it stopped, if it did."""

    id: str  # wh_...
    url: str
    events: list[str]
    agency_code: str | None
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None

    @classmethod
    def from_json(cls, body: JSON) -> Webhook:
        return cls(
            id=body["id"],
            url=body["url"],
            events=list(body["events"]),
            agency_code=body.get("agency_code"),
            created_at=to_datetime(body["created_at"]),
            disabled_at=to_datetime_or_none(body.get("disabled_at")),
            disabled_reason=body.get("disabled_reason"),
        )


@dataclass(frozen=True)
class WebhookCreated(Webhook):
    """A new subscription with its signing secret (`whsec_...`), shown only this once."""

    secret: str

    @classmethod
    def from_json(cls, body: JSON) -> WebhookCreated:
        base = Webhook.from_json(body)
        return cls(
            id=base.id,
            url=base.url,
            events=base.events,
            agency_code=base.agency_code,
            created_at=base.created_at,
            disabled_at=base.disabled_at,
            disabled_reason=base.disabled_reason,
            secret=body["secret"],
        )


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status_code: int | None  # None when no HTTP answer came back
    latency_ms: float | None
    error: str | None  # None when the attempt succeeded
    response_snippet: str | None

    @classmethod
    def from_json(cls, body: JSON) -> Attempt:
        return cls(
            at=to_datetime(body["at"]),
            status_code=body.get("status_code"),
            latency_ms=to_float_or_none(body.get("latency_ms")),
            error=body.get("error"),
            response_snippet=body.get("response_snippet"),
        )


@dataclass(frozen=True)
class Delivery:
    """One event on its way to one subscription, with every attempt made so far.

    `webhook_id` is NOT the subscription's id: it is the message id the receiver sees in
    the `webhook-id` header (`msg_...`); the same event always carries the same one.
    """

    id: int
    webhook_id: str  # the `webhook-id` header of the delivery
    type: str
    agency_code: str
    period: str | None  # for score.updated
    status: str  # pending, succeeded, failed
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    attempt_log: list[Attempt]

    @classmethod
    def from_json(cls, body: JSON) -> Delivery:
        return cls(
            id=int(body["id"]),
            webhook_id=body["webhook_id"],
            type=body["type"],
            agency_code=body["agency_code"],
            period=body.get("period"),
            status=body["status"],
            attempts=int(body["attempts"]),
            next_attempt_at=to_datetime_or_none(body.get("next_attempt_at")),
            created_at=to_datetime(body["created_at"]),
            completed_at=to_datetime_or_none(body.get("completed_at")),
            attempt_log=[Attempt.from_json(a) for a in body.get("attempt_log", [])],
        )
