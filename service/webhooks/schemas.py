"""API shapes for webhook subscriptions and deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from service.text_clean import OptionalCodeText
from service.web.schemas import strict_with_example

EventType = Literal[
    "response.submitted",
    "score.updated",
    "petition.created",
    "petition.updated",
    "invitation.issued",
    "alert.raised",
]


class SubscriptionCreate(BaseModel):
    model_config = strict_with_example(
        {
            "url": "https://congdichvu.example.gov.vn/hooks/hailong",
            "events": ["score.updated", "petition.created"],
            "agency_code": "79",
        }
    )

    url: str = Field(min_length=8, max_length=2000)
    events: list[EventType] = Field(min_length=1)
    agency_code: Annotated[
        str | None,
        Field(max_length=64, description="Only events of this agency and below"),
        OptionalCodeText,
    ] = None


class SubscriptionPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    agency_code: str | None
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None


class SubscriptionCreated(SubscriptionPublic):
    secret: str = Field(
        description="Shown once: keep it to verify signatures",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class SubscriptionList(BaseModel):
    data: list[SubscriptionPublic]
    count: int


class AttemptPublic(BaseModel):
    at: datetime
    status_code: int | None
    latency_ms: float | None
    error: str | None
    response_snippet: str | None


class DeliveryPublic(BaseModel):
    id: int
    webhook_id: str
    type: str
    agency_code: str
    period: str | None
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    attempt_log: list[AttemptPublic]


class DeliveryList(BaseModel):
    data: list[DeliveryPublic]
    count: int
