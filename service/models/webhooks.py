"""Webhook subscriptions, the transactional outbox, and delivery bookkeeping."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from service.models.agency import AGENCY_PATH_MAX
from service.models.base import UTCDateTime, check_known, utcnow


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=40, unique=True)
    url: str = Field(max_length=2000)
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    owner_key_id: int = Field(foreign_key="api_key.id", index=True)
    # Fernet-encrypted with a key from settings: the secret must sign, so it cannot be hashed.
    secret_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=500)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Until when its receiver (the owner key and the URL's origin, delivery/receivers.py)
    # asked to be sent nothing: a Retry-After on a 429 or 503 is about the sender's next
    # request to that server, not about one event (RFC 9110 10.2.3).
    held_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OutboxEvent(SQLModel, table=True):
    """Written in the same transaction as the change it reports; fanned out by the worker."""

    __tablename__ = "outbox_event"
    __table_args__ = (Index("ix_outbox_event_pending", "dispatched_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    msg_id: str = Field(max_length=40, unique=True)  # the webhook-id of every delivery of it
    type: str = Field(max_length=40)
    agency_id: int = Field(foreign_key="agency.id")
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The agency's place in the tree when the event happened, by the ids of it and its
    # ancestors ("/1/5/17/"), kept only when the agency moved before the event was fanned
    # out (admin/agencies.py): the event belongs to the portals of the tree it happened in.
    # None: the agency's place as it stands.
    agency_ancestry: str | None = Field(default=None, max_length=AGENCY_PATH_MAX)


class ScoreDirty(SQLModel, table=True):
    """At most one row per agency and period whose score moved since it was last sent."""

    __tablename__ = "score_dirty"

    agency_id: int = Field(foreign_key="agency.id", primary_key=True)
    period: str = Field(max_length=8, primary_key=True)
    marked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        check_known("status", ("pending", "succeeded", "failed")),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_order", "subscription_id", "agency_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id")
    agency_id: int = Field(foreign_key="agency.id")
    msg_id: str = Field(max_length=40)
    type: str = Field(max_length=40)
    event_id: int | None = Field(default=None, foreign_key="outbox_event.id")
    period: str | None = Field(default=None, max_length=8)  # score.updated: computed at send
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set by the worker that is sending it; another worker takes it over only once it has
    # lapsed (that worker died mid-send).
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    give_up_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = Field(default=None, max_length=500)
    response_snippet: str | None = Field(default=None, max_length=500)
