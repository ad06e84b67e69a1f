"""Dossiers handed over to citizens, and the one survey invitation each gets."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.models.base import UTCDateTime, check_known, utcnow

CHANNELS = ("counter", "online", "postal")
# The channels in the console's words (templates/console/response_rates.html,
# `channel_name`), for the sheets officials read.
CHANNEL_NAMES: dict[str, str] = {
    "counter": "Tại quầy",
    "online": "Trực tuyến",
    "postal": "Bưu chính",
}
INVITATION_STATUSES = ("issued", "opened", "answered", "expired", "revoked")

DOSSIER_CODE_MAX = 64


class Dossier(SQLModel, table=True):
    __tablename__ = "dossier"
    # A dossier is known by its code WITHIN its agency: two agencies may use the same code
    # (one-stop systems number their own dossiers), and neither can reach the other's.
    __table_args__ = (
        CheckConstraint("supplement_requests >= 0", name="supplements_not_negative"),
        UniqueConstraint("agency_id", "code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=DOSSIER_CODE_MAX)
    # No index of its own: the unique (agency_id, code) index starts with it. A second
    # index on agency_id alone tied with it on a young table's statistics, and a lookup by
    # agency and code then read every dossier of the agency (migration 0017).
    agency_id: int = Field(foreign_key="agency.id")
    procedure_code: str | None = Field(default=None, max_length=64)
    procedure_name: str | None = Field(default=None, max_length=500)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime = Field(sa_type=UTCDateTime, index=True)
    handed_over_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    supplement_requests: int = 0
    channel: str | None = Field(default=None, max_length=16)
    receiving_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    handling_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    returning_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    # Derived facts the scores need, kept on the row so that a dossier's contribution to the
    # day counters is a pure function of it (see service/scoring/contributions.py).
    resolved_day: date = Field(index=True)  # local (Asia/Ho_Chi_Minh) date of resolution
    is_late: bool = False  # resolved after its due time
    overdue_working_days: int = 0
    has_unsatisfied_evaluation: bool = False
    has_petition: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Invitation(SQLModel, table=True):
    __tablename__ = "invitation"
    __table_args__ = (check_known("status", INVITATION_STATUSES),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=36, unique=True)
    dossier_id: int = Field(foreign_key="dossier.id", unique=True)
    # The token itself is never stored: `token_seed` alone cannot rebuild it without the
    # server's signing key, and lookups go through `token_hash`.
    token_seed: str = Field(max_length=64)
    token_hash: str = Field(max_length=64, unique=True)
    short_code: str = Field(max_length=8, unique=True)
    language: str = Field(default="vi", max_length=8)
    status: str = Field(default="issued", max_length=16)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
