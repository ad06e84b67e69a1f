"""Typed client for hailong: issue surveys at handover, submit responses, read scores
(K, and TT 01/2018's where the service computes them), rankings, explanations and score
exports, import petitions, set the working-day calendar, manage webhooks
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
    InputEntry,
    Inputs,
    PetitionRow,
    Rows,
    Score,
)
from hailong_client.staff import StaffScore, StaffScores
from hailong_client.subscriptions import Attempt, Delivery, EventType, Webhook, WebhookCreated
from hailong_client.tt01 import TT01, Tt01Indicator, Tt01Score
from hailong_client.webhooks import WebhookEvent, WebhookVerificationError

__version__ = "0.4.0"

__all__ = [
    "TT01",
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
    "InputEntry",
    "Inputs",
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
    "Tt01Indicator",
    "Tt01Score",
    "Unauthorized",
    "Webhook",
    "WebhookCreated",
    "WebhookEvent",
    "WebhookVerificationError",
    "webhooks",
]
