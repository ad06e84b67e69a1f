"""The columns of a table of messages sent with leases (service/messaging/leased.py): the
citizens' messages and the managers' alert e-mails share them, and the way they are sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from service.models.base import UTCDateTime, check_known, utcnow

LEASED_STATUSES = ("pending", "sent", "failed", "skipped")


class LeasedSend(SQLModel):
    status: str = Field(default="pending", max_length=16)
    reason: str | None = Field(default=None, max_length=255)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A worker holds a claimed row until then (compare-and-set, like webhook deliveries).
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def status_known() -> CheckConstraint:
    """The status check of each such table (a constraint belongs to one table)."""
    return check_known("status", LEASED_STATUSES)
