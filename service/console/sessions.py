"""Console sessions: a manager key exchanged once for a signed, expiring cookie.

The cookie holds only the key's id, the expiry and a random session id, signed with the
settings' signing key (HMAC-SHA256). Every request re-reads the key, so a revoked key or a
key whose role changed signs its sessions out at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlmodel import Session
from starlette.responses import Response

from service.auth.keys import principal_by_id
from service.auth.principal import Principal

COOKIE = "hl_console"
COOKIE_PATH = "/console"
CONSOLE_ROLES = ("manager", "admin", "auditor")
# Every console page but the audit log (service/console/audit_pages.py) is for these.
MANAGING_ROLES = ("manager", "admin")
SESSION_SECONDS = 8 * 3600  # one working day; then the key is asked for again
ANONYMOUS_SECONDS = 3600  # the sign-in form's own session, which its CSRF token rests on


def clock() -> float:
    """Unix seconds (one place, so tests can move time)."""
    return time.time()


@dataclass(frozen=True)
class ConsoleSession:
    key_id: int | None  # None: the sign-in form's pre-session, nobody signed in yet
    expires: int  # unix seconds
    sid: str  # random; the CSRF token is derived from it

    @property
    def signed_in(self) -> bool:
        return self.key_id is not None


def _sign(signing_key: bytes, payload: str) -> str:
    digest = hmac.new(signing_key, b"console-session:" + payload.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def new_session(key_id: int | None, now: float | None = None) -> ConsoleSession:
    lifetime = SESSION_SECONDS if key_id is not None else ANONYMOUS_SECONDS
    return ConsoleSession(
        key_id, int(now if now is not None else clock()) + lifetime, secrets.token_urlsafe(18)
    )


def encode(session: ConsoleSession, signing_key: bytes) -> str:
    payload = f"{session.key_id or 0}.{session.expires}.{session.sid}"
    return f"{payload}.{_sign(signing_key, payload)}"


def decode(
    value: str | None, signing_key: bytes, now: float | None = None
) -> ConsoleSession | None:
    """The session in a cookie, or None when it is absent, forged or expired."""
    if not value or len(value) > 200:
        return None
    payload, _, signature = value.rpartition(".")
    if not hmac.compare_digest(signature.encode(), _sign(signing_key, payload).encode()):
        return None
    parts = payload.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    key_id, expires, sid = int(parts[0]), int(parts[1]), parts[2]
    if expires <= (now if now is not None else clock()):
        return None
    return ConsoleSession(key_id or None, expires, sid)


def set_cookie(
    response: Response, session: ConsoleSession, signing_key: bytes, *, secure: bool
) -> None:
    response.set_cookie(
        COOKIE,
        encode(session, signing_key),
        max_age=max(0, session.expires - int(clock())),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=secure,
    )


def clear_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=secure
    )


def principal_for(session: Session, key_id: int) -> Principal | None:
    """The key behind a session, if it still exists, is not revoked and may use the console."""
    principal = principal_by_id(session, key_id)
    return principal if principal is not None and principal.role in CONSOLE_ROLES else None
