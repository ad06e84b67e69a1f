"""Typed client for hailong: issue surveys at handover, submit responses, read scores,
rankings, explanations and score exports, set the working-day calendar, manage webhooks
and verify their deliveries."""

from hailong_client import webhooks
from hailong_client._calls import UNSET
from hailong_client.client import AsyncHailongClient, HailongClient
from hailong_client.errors import (
    Conflict,
    Forbidden,
    Gone,
    HailongError,
    InvalidInput,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
)
from hailong_client.models import (
    Agency,
    Answers,
    CalendarDay,
    Contact,
    Message,
    Petition,
    Staff,
    Submission,
    Survey,
)
from hailong_client.scores import (
    Counts,
    DossierRow,
    EvaluationRow,
    Explanation,
    Group5,
    PetitionRow,
    Rows,
    Score,
    StaffScore,
    StaffScores,
)
from hailong_client.subscriptions import Attempt, Delivery, EventType, Webhook, WebhookCreated
from hailong_client.webhooks import WebhookEvent, WebhookVerificationError

__version__ = "0.2.0"

__all__ = [
    "UNSET",
    "Agency",
    "Answers",
    "AsyncHailongClient",
    "Attempt",
    "CalendarDay",
    "Conflict",
    "Contact",
    "Counts",
    "Delivery",
    "DossierRow",
    "EvaluationRow",
    "EventType",
    "Explanation",
    "Forbidden",
    "Gone",
    "Group5",
    "HailongClient",
    "HailongError",
    "InvalidInput",
    "Message",
    "NotFound",
    "Petition",
    "PetitionRow",
    "RateLimited",
    "Rows",
    "Score",
    "ServiceUnavailable",
    "Staff",
    "StaffScore",
    "StaffScores",
    "Submission",
    "Survey",
    "Unauthorized",
    "Webhook",
    "WebhookCreated",
    "WebhookEvent",
    "WebhookVerificationError",
    "webhooks",
]
