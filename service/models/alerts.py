"""Alerts before the ranking (service/alerts): per-agency rule overrides, the alerts raised
(at most once per agency, rule, subject and period) and the e-mails that tell managers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.models.base import ACTOR_MAX, UTCDateTime, check_known, utcnow
from service.models.leased import LeasedSend, status_known
from service.models.petition import PETITION_CODE_MAX

ALERT_RULES = (
    "k_below_threshold",
    "staff_c_falling",
    "petition_deadline",
    "response_rate_low",
)


class AlertRuleOverride(SQLModel, table=True):
    """An agency's own setting of one rule: on or off, and its threshold (None: the
    profile's). Rules without a row follow the profile's `[alerts]` table."""

    __tablename__ = "alert_rule_override"
    __table_args__ = (
        UniqueConstraint("agency_id", "rule"),
        check_known("rule", ALERT_RULES),
    )

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id")
    rule: str = Field(max_length=32)
    enabled: bool = True
    threshold: float | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str = Field(max_length=ACTOR_MAX)  # the audit log's actor


class Alert(SQLModel, table=True):
    """An alert raised. The unique constraint is what makes it fire once per condition and
    period, whichever worker evaluates the rules and however often."""

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("agency_id", "rule", "subject", "period", "occasion"),
        check_known("rule", ALERT_RULES),
    )

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    rule: str = Field(max_length=32)
    # What the alert is about within the agency: a staff code, a petition code, or "" for
    # the agency itself (rules on K and the response rate).
    subject: str = Field(default="", max_length=PETITION_CODE_MAX)
    period: str = Field(max_length=16)
    # What else makes the condition a new one, "" where nothing does: a petition's deadline
    # (its ISO time). A deadline the national system extends is warned of again before the
    # new one; keyed on the petition alone, the first warning was the last (alerts audit).
    occasion: str = Field(default="", max_length=32)
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The figures behind it (K and the threshold, C before and after...): no personal data.
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Why no e-mail was planned, if none was: "channel_not_configured", "no_recipients".
    email_reason: str | None = Field(default=None, max_length=64)


class AlertEmail(LeasedSend, table=True):
    """One alert e-mail to one official, sent by the worker outside any transaction and
    retried like the message outbox (claim with a lease, backoff, give up)."""

    __tablename__ = "alert_email"
    __table_args__ = (
        UniqueConstraint("alert_id", "official_id"),
        status_known(),
        Index("ix_alert_email_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    official_id: int = Field(foreign_key="official.id")
