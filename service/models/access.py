"""API keys, officials and their console sessions, and the audit log of who changed what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column
from sqlmodel import Field, SQLModel

from service.models.base import ACTOR_MAX, UTCDateTime, check_known, utcnow

# auditor: reads the audit log and nothing else (no scores, no changes).
ROLES = ("issuer", "reader", "manager", "admin", "kiosk", "auditor")
# Roles whose work covers every agency: the audit log is read whole or not at all (a key or
# official limited to an agency's tree is refused it), so one given an agency could read
# nothing (audits: officials, then keys).
EVERY_AGENCY_ROLES = {"auditor": "an auditor reads the audit log of every agency"}


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    __table_args__ = (check_known("role", ROLES),)

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
    revoked_by: str | None = Field(default=None, max_length=ACTOR_MAX)  # the audit log's actor


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=ACTOR_MAX)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=255)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# Officials sign in to the console through the province's identity provider (OpenID
# Connect); their role and agency are kept here by an admin, never taken from the IdP.
OFFICIAL_ROLES = ("manager", "admin", "auditor")


class Official(SQLModel, table=True):
    __tablename__ = "official"
    __table_args__ = (check_known("role", OFFICIAL_ROLES),)

    id: int | None = Field(default=None, primary_key=True)
    # Lower case; matched against the ID token's verified `email` claim.
    email: str = Field(max_length=255, unique=True)
    name: str = Field(max_length=255)
    role: str = Field(max_length=16)
    # None: every agency. Otherwise this agency and its descendants.
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    # The provider's `sub`, bound at the first sign-in: a mailbox handed to someone else
    # later does not open this account.
    subject: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_sign_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_by: str | None = Field(default=None, max_length=ACTOR_MAX)  # the audit log's actor


class ConsoleSessionRecord(SQLModel, table=True):
    """A signed-in console session, kept on the server so that signing out ends it: the
    cookie names it (by the sha256 of its random id) and is worthless once it has ended."""

    __tablename__ = "console_session"
    __table_args__ = (
        CheckConstraint("(key_id IS NULL) <> (official_id IS NULL)", name="one_kind_of_principal"),
    )

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie's session id
    key_id: int | None = Field(default=None, foreign_key="api_key.id", index=True)
    official_id: int | None = Field(default=None, foreign_key="official.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SpentOidcSignIn(SQLModel, table=True):
    """An OpenID Connect sign-in whose answer came back: its pending cookie (state, nonce,
    PKCE verifier) is spent, and a copy of it signs nobody in again. Kept only while the
    cookie would still be taken (`expires_at`, the cookie's own expiry)."""

    __tablename__ = "spent_oidc_sign_in"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the sign-in's state
    # Indexed: the callback deletes the rows past it, a range of the index, not a scan.
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
