"""Evaluations: at most one per invitation, enforced by a unique constraint."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from service.models.base import UTCDateTime, utcnow
from service.models.write_order import FILLED_BY_DATABASE, WritingTransaction

# The widest complaint the column holds (VARCHAR on PostgreSQL): a profile's
# `survey.complaint_max_chars` may not exceed it, or a longer answer would pass the
# survey's check and fail the INSERT.
COMPLAINT_MAX_CHARS = 2000
# What a complaint's text becomes when the retention purge removes it: not empty, because
# that a complaint was written is scored (TT 01/2018's indicator 7 caps the attitude's
# points), and a purge must not move a score, live or rebuilt.
PURGED_COMPLAINT = "[Nội dung đã xóa sau thời hạn lưu trữ]"


class Response(SQLModel, table=True):
    __tablename__ = "response"
    # GET /api/v1/evaluations pages in the order answers were committed (write_order.py).
    __table_args__ = (Index("ix_response_write_xact_id", "write_xact", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = Field(foreign_key="invitation.id", unique=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    client_submission_id: str | None = Field(default=None, max_length=64, unique=True)
    source: str = Field(max_length=16)
    timeliness: str | None = Field(default=None, max_length=32)
    supplement_requests: str | None = Field(default=None, max_length=32)
    staff_attitude: str | None = Field(default=None, max_length=32)
    overall: str | None = Field(default=None, max_length=32)
    # Asked where a TT 01/2018 profile is computed beside the K score (its indicator 4).
    agencies_contacted: str | None = Field(default=None, max_length=32)
    complaint: str | None = Field(default=None, max_length=COMPLAINT_MAX_CHARS)
    # The language the citizen answered in ("vi", "en"): the page's, which may not be the
    # invitation's (a citizen can switch). Shown with the complaint (its lang attribute).
    # None where it is not known (an import, a JSON client that does not say).
    language: str | None = Field(default=None, max_length=8)
    # Deliberately no IP address or device fingerprint (see DESIGN.md).
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    received_day: date = Field(index=True)  # local date: the day counter it feeds
    # The transaction that stored the answer, filled by the database (never written by
    # hand: None here fails the INSERT rather than misplacing the row in the order).
    write_xact: int | None = Field(
        default=None,
        sa_type=BigInteger,
        nullable=False,
        sa_column_kwargs={"server_default": WritingTransaction(), "info": FILLED_BY_DATABASE},
    )


class ResponseContact(SQLModel, table=True):
    """A citizen's phone or e-mail, kept apart from the answers and only with consent.

    Nothing that leaves hailong (exports, webhooks, logs) reads this table.
    """

    __tablename__ = "response_contact"

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", unique=True)
    contact: str = Field(max_length=255)
    consented_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
