"""API keys and the audit log of who changed what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column
from sqlmodel import Field, SQLModel

from service.models.base import UTCDateTime, utcnow

# auditor: reads the audit log and nothing else (no scores, no changes).
ROLES = ("issuer", "reader", "manager", "admin", "kiosk", "auditor")


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint(
            "role IN ('issuer', 'reader', 'manager', 'admin', 'kiosk', 'auditor')",
            name="role_known",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    role: str = Field(max_length=16)
    # None: every agency. Otherwise this agency and its descendants.
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    # Kiosk keys only: the counter the device was paired to (see service/kiosk).
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    # sha256 of the key; the key itself is printed once and never stored.
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Written when a process loads the key into its key cache, and then only when the stored
    # value is a minute old or more: accurate to about a minute, no write per request.
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # None: never expires. From this moment on the key is refused.
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, max_length=255)  # the audit log's actor


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=255)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=255)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
