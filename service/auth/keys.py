"""API keys: made once and stored as a hash, checked on every API request.

A key counts only as `Authorization: Bearer <key>` (API.md): `bearer_key` is the one
reader of that header, for the database lookup and for the key cache alike.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from service.auth.principal import Principal
from service.errors import Unauthorized
from service.models import Agency, ApiKey

KEY_PREFIX = "hl_"


@dataclass(frozen=True)
class KeyMaterial:
    raw: str  # handed out once, never stored
    hash: str
    prefix: str  # stored, so that a person can tell their keys apart


def hash_key(raw_key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def new_key_material() -> KeyMaterial:
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    return KeyMaterial(raw, hash_key(raw), raw[:8])


def bearer_key(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header; None for any other scheme."""
    scheme, _, key = (authorization or "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def _active(session: Session, which: ColumnElement[bool]) -> Principal | None:
    row = session.exec(
        select(ApiKey, Agency.path)
        .join(Agency, ApiKey.agency_id == Agency.id, isouter=True)  # type: ignore[arg-type]
        .where(which)
    ).first()
    if row is None or row[0].revoked_at is not None:
        return None
    key, scope_path = row
    assert key.id is not None
    return Principal(key.id, key.name, key.role, key.agency_id, scope_path)


def principal_for_key(session: Session, raw_key: str) -> Principal | None:
    """The principal of a key that exists and is not revoked."""
    return _active(session, col(ApiKey.key_hash) == hash_key(raw_key))


def principal_by_id(session: Session, key_id: int) -> Principal | None:
    """The same, by the key's id (a console session remembers only that)."""
    return _active(session, col(ApiKey.id) == key_id)


def authenticate(session: Session, authorization: str | None) -> Principal:
    if not authorization:
        raise Unauthorized(
            "This endpoint needs an API key: send it as 'Authorization: Bearer <key>'."
        )
    raw_key = bearer_key(authorization)
    if raw_key is None:
        raise Unauthorized("Send the API key as 'Authorization: Bearer <key>'.")
    principal = principal_for_key(session, raw_key)
    if principal is None:
        raise Unauthorized("This API key is unknown or has been revoked. Ask for a new one.")
    return principal
