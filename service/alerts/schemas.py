"""API shapes of alerts and of an agency's alert rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.web.schemas import CursorPage, strict_with_example

RuleName = Literal["k_below_threshold", "staff_c_falling", "petition_deadline", "response_rate_low"]


class EmailSummary(BaseModel):
    recipients: int = Field(description="Managers and admins the alert was planned for")
    sent: int
    pending: int
    failed: int
    skipped: int
    reason: str | None = Field(
        description="Why no e-mail was planned: `channel_not_configured` (no SMTP server), "
        "`no_recipients`; else the last failure's or skip's reason, or why one waits: "
        "`channel_not_configured` (the worker has no SMTP server yet; it goes once it has, "
        "within HAILONG_MESSAGE_GIVE_UP_HOURS of the alert, else it is skipped as `expired`)"
    )


class AlertPublic(BaseModel):
    id: int
    agency_code: str
    agency_name: str
    rule: RuleName
    subject: str | None = Field(description="Staff code or petition code; null for the agency")
    period: str
    raised_at: datetime
    values: dict[str, Any] = Field(description="The figures behind the alert")
    email: EmailSummary


class AlertList(CursorPage[AlertPublic]):
    """Alerts raised, newest first."""


class RulePublic(BaseModel):
    rule: RuleName
    enabled: bool
    threshold: float = Field(
        description="k_below_threshold: K; staff_c_falling: drop of C (above 0, at most C's "
        "maximum); petition_deadline: working days; response_rate_low: rate (0-1)"
    )
    default_threshold: float = Field(description="The profile's value")
    overridden: bool = Field(description="The agency set this rule itself")


class AlertRules(BaseModel):
    agency_code: str
    profile: str
    min_evaluations_for_staff: int = Field(
        description="staff_c_falling compares only staff with this many answers in both periods"
    )
    response_rate_min_issued: int
    rules: list[RulePublic]


class RuleOverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    # Strict: pydantic's lax mode took `true` as 1.0 and "5" as 5.0, stored as the agency's
    # threshold (audit); a JSON number (5 or 5.5) or null only.
    enabled: bool = Field(default=True, strict=True)
    threshold: float | None = Field(default=None, strict=True, description="null: the profile's")


class AlertRulesUpdate(BaseModel):
    """The rules named are set; `null` puts a rule back to the profile's defaults; rules
    not named are left as they are."""

    model_config = strict_with_example(
        {"k_below_threshold": {"enabled": True, "threshold": 22}, "petition_deadline": None}
    )

    k_below_threshold: RuleOverrideIn | None = None
    staff_c_falling: RuleOverrideIn | None = None
    petition_deadline: RuleOverrideIn | None = None
    response_rate_low: RuleOverrideIn | None = None
