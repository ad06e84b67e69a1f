"""API keys: made once and stored as a hash, checked on every API request.

A key counts only as `Authorization: Bearer <key>` (API.md): `bearer_key` is the one
reader of that header, for the database lookup and for the key cache alike.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from service.auth.principal import Principal
from service.errors import Unauthorized
from service.models import Agency, ApiKey, utcnow

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


# `last_used_at` is written at most this often per key (see `authenticate`).
LAST_USED_GRANULARITY = timedelta(minutes=1)


def refusal(key: ApiKey, now: datetime) -> str | None:
    """Why a stored key no longer counts, in a sentence for its holder; None if it counts."""
    if key.revoked_at is not None:
        return (
            f"This API key was revoked on {key.revoked_at:%Y-%m-%d %H:%M} UTC. "
            "Ask your administrator for a new one."
        )
    if key.expires_at is not None and key.expires_at <= now:
        return (
            # Not "have it rotated": a successor keeps the expiry, so rotating an expired
            # key is refused (admin/keys.rotate_key); only a new key works (audit).
            f"This API key expired on {key.expires_at:%Y-%m-%d %H:%M} UTC. "
            "Ask your administrator for a new one."
        )
    return None


def _lookup(session: Session, which: ColumnElement[bool]) -> tuple[ApiKey, str | None] | None:
    row = session.exec(
        select(ApiKey, Agency.path)
        .join(Agency, ApiKey.agency_id == Agency.id, isouter=True)  # type: ignore[arg-type]
        .where(which)
    ).first()
    return None if row is None else (row[0], row[1])


def _principal(key: ApiKey, scope_path: str | None) -> Principal:
    assert key.id is not None
    return Principal(key.id, key.name, key.role, key.agency_id, scope_path, key.expires_at)


def _active(session: Session, which: ColumnElement[bool]) -> Principal | None:
    """The key's principal, its use recorded: a manager who works only in the console
    (it looks the key up at sign-in and on each page) read as never using the key, and a
    key pruned for that cut them off (audit)."""
    found = _lookup(session, which)
    now = utcnow()
    if found is None or refusal(found[0], now) is not None:
        return None
    record_use(session, found[0], now)
    return _principal(*found)


def standing_principal(session: Session, key_id: int) -> Principal | None:
    """What a key may do now, its use not recorded: for work it authorised earlier (a
    kiosk pairing code redeemed later), which is not the key being used."""
    found = _lookup(session, col(ApiKey.id) == key_id)
    if found is None or refusal(found[0], utcnow()) is not None:
        return None
    return _principal(*found)


def record_use(session: Session, key: ApiKey, now: datetime) -> None:
    """`last_used_at`, written only when the stored one is older than LAST_USED_GRANULARITY
    (in the request's own transaction: a request that fails loses it, so the key cache
    remembers a key only once that transaction commits, and the next request writes it).
    A kiosk tablet's device key too, which /kiosk looks up on its own (kiosk.service)."""
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_GRANULARITY:
        key.last_used_at = now
        session.add(key)


def principal_for_key(session: Session, raw_key: str) -> Principal | None:
    """The principal of a key that exists, is not revoked and has not expired."""
    return _active(session, col(ApiKey.key_hash) == hash_key(raw_key))


def lapsed_key(session: Session, raw_key: str) -> ApiKey | None:
    """The stored key `raw_key` is, when it no longer counts (revoked, expired): for the
    console's sign-in to say so. Told "wrong or revoked, please check it", an official
    whose key had expired checked it, to no end (console audit)."""
    found = _lookup(session, col(ApiKey.key_hash) == hash_key(raw_key))
    if found is None or refusal(found[0], utcnow()) is None:
        return None
    return found[0]


def principal_by_id(session: Session, key_id: int) -> Principal | None:
    """The same, by the key's id (a console session remembers only that)."""
    return _active(session, col(ApiKey.id) == key_id)


def bearer_key_or_401(authorization: str | None) -> str:
    """The key the header carries, or 401 saying how to send one: what a request without
    a usable header is told before its body is read (web/deps.py), so that it does not
    fix a body first only to learn it lacks a key."""
    if not authorization:
        raise Unauthorized(
            "This endpoint needs an API key: send it as 'Authorization: Bearer <key>'."
        )
    raw_key = bearer_key(authorization)
    if raw_key is None:
        raise Unauthorized("Send the API key as 'Authorization: Bearer <key>'.")
    return raw_key


def authenticate(session: Session, authorization: str | None) -> Principal:
    """The principal of the header's key, or 401 saying what to do.

    Also records the key's use (record_use): called once per key per process every
    `auth_cache_seconds` (the key cache answers in between), and after each request of
    the key that failed (auth/cache.py remembers a key once its request commits).
    """
    raw_key = bearer_key_or_401(authorization)
    found = _lookup(session, col(ApiKey.key_hash) == hash_key(raw_key))
    if found is None:
        raise Unauthorized(
            "This API key is unknown. Check that it was copied whole, or ask for a new one."
        )
    key, scope_path = found
    now = utcnow()
    if (why := refusal(key, now)) is not None:
        raise Unauthorized(why)
    record_use(session, key, now)
    return _principal(key, scope_path)
