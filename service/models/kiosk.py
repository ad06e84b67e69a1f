"""Counter kiosks: one-time pairing codes, and which surveys were put on which counter.

A paired kiosk is an `ApiKey` with the role `kiosk` and a `counter_id`; unpairing revokes
that key. Presentations record a survey found by code at a counter, so that the device may
answer it even when the dossier was handed over elsewhere.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from service.models.base import ACTOR_MAX, UTCDateTime, utcnow


class KioskPairing(SQLModel, table=True):
    __tablename__ = "kiosk_pairing"

    id: int | None = Field(default=None, primary_key=True)
    counter_id: int = Field(foreign_key="counter.id", index=True)
    # sha256 of the code: the code itself is shown once to whoever created it.
    code_hash: str = Field(max_length=64, unique=True)
    created_by: str = Field(max_length=ACTOR_MAX)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The device key the code was exchanged for.
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id")


class KioskPresentation(SQLModel, table=True):
    __tablename__ = "kiosk_presentation"
    __table_args__ = (UniqueConstraint("counter_id", "invitation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    counter_id: int = Field(foreign_key="counter.id")
    invitation_id: int = Field(foreign_key="invitation.id", index=True)
    presented_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
