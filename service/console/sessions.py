"""Console sessions: a signed, expiring cookie naming a session kept on the server.

The cookie holds only the expiry and a random session id, signed with the settings'
signing key (HMAC-SHA256); the CSRF token is derived from the id. Before signing in it is
the sign-in form's own pre-session. Signing in (with an official's identity provider or an
API key) starts a fresh id with a row in `console_session`; signing out ends the row, so a
copied cookie stops working at once. Every request re-reads the row and the key or official
behind it: a revoked key or a disabled official is signed out at once too.

An OpenID Connect sign-in under way waits in a cookie of its own (sign_in_pages.py); the
callback spends it here, on the server, so that a copy of that cookie is worth nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlmodel import Session, col
from starlette.responses import Response

from service.auth.compare import same_secret
from service.auth.keys import principal_by_id
from service.auth.officials import official_principal
from service.auth.principal import Principal
from service.db import dialect_insert
from service.models import ConsoleSessionRecord, SpentOidcSignIn, utcnow

COOKIE = "hl_console"
COOKIE_PATH = "/console"
CONSOLE_ROLES = ("manager", "admin", "auditor")
SESSION_SECONDS = 8 * 3600  # one working day; then the key is asked for again
ANONYMOUS_SECONDS = 3600  # the sign-in form's own session, which its CSRF token rests on


def clock() -> float:
    """Unix seconds (one place, so tests can move time)."""
    return time.time()


@dataclass(frozen=True)
class ConsoleSession:
    expires: int  # unix seconds
    sid: str  # random; the CSRF token is derived from it, the server row from its hash


def sign(signing_key: bytes, purpose: str, payload: str) -> str:
    """HMAC-SHA256 of `payload` for one `purpose` (a cookie's name), base64url."""
    digest = hmac.new(signing_key, f"{purpose}:{payload}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def new_session(*, signed_in: bool, now: float | None = None) -> ConsoleSession:
    lifetime = SESSION_SECONDS if signed_in else ANONYMOUS_SECONDS
    return ConsoleSession(
        int(now if now is not None else clock()) + lifetime, secrets.token_urlsafe(18)
    )


def pre_session(session: ConsoleSession | None) -> ConsoleSession:
    """The sign-in form's session, its hour from now: `session`'s id, so the CSRF token of
    a form already open keeps working, or a new one."""
    if session is None:
        return new_session(signed_in=False)
    return ConsoleSession(int(clock()) + ANONYMOUS_SECONDS, session.sid)


def encode(session: ConsoleSession, signing_key: bytes) -> str:
    payload = f"{session.expires}.{session.sid}"
    return f"{payload}.{sign(signing_key, 'console-session', payload)}"


def decode(
    value: str | None, signing_key: bytes, now: float | None = None
) -> ConsoleSession | None:
    """The session in a cookie, or None when it is absent, forged or expired."""
    if not value or len(value) > 200:
        return None
    payload, _, signature = value.rpartition(".")
    if not same_secret(signature, sign(signing_key, "console-session", payload)):
        return None
    expires, _, sid = payload.partition(".")
    if not expires.isdigit() or not sid:
        return None
    if int(expires) <= (now if now is not None else clock()):
        return None
    return ConsoleSession(int(expires), sid)


def _row_id(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start(db: Session, session: ConsoleSession, principal: Principal) -> None:
    """Records a signed-in session on the server (in the sign-in's transaction)."""
    db.add(
        ConsoleSessionRecord(
            id=_row_id(session.sid),
            key_id=None if principal.official_id is not None else principal.key_id,
            official_id=principal.official_id,
            expires_at=datetime.fromtimestamp(session.expires, UTC),
        )
    )


def end(db: Session, session: ConsoleSession) -> None:
    """Ends a session on the server: its cookie, wherever copied, signs in nobody again."""
    row = db.get(ConsoleSessionRecord, _row_id(session.sid))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        db.add(row)


def spend_pending_sign_in(db: Session, state: str, expires: int) -> bool:
    """Marks the OpenID Connect sign-in of `state` spent until `expires` (its cookie's
    expiry, unix seconds): True the first time, False for a sign-in spent already. Deleting
    the browser's cookie left a copy of it good for a new sign-in (audit). The row's key
    settles two answers at once too: the second waits for the first's COMMIT and inserts
    nothing. Rows past their cookie's expiry go first: the table holds minutes of sign-ins."""
    db.execute(
        delete(SpentOidcSignIn).where(col(SpentOidcSignIn.expires_at) <= utcnow()),
        execution_options={"synchronize_session": False},
    )
    table = SpentOidcSignIn.__table__  # type: ignore[attr-defined]
    claimed = db.execute(
        dialect_insert(db.get_bind().dialect.name, table)
        .values(id=_row_id(state), expires_at=datetime.fromtimestamp(expires, UTC))
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(table.c.id)  # an INSERT's rowcount is not kept on PostgreSQL
    )
    return claimed.first() is not None


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


def principal_for(
    db: Session, session: ConsoleSession, *, key_sign_in: bool, provider_sign_in: bool
) -> Principal | None:
    """Who a session signed in, if it is open on the server and they may still use the
    console: None for a pre-session, an ended or expired one, a revoked key, a disabled
    official, one begun with a pasted key once key sign-in is turned off
    (`console_key_sign_in`: it lived on for its 8 hours after the restart), and an
    official's once sign-in through the provider is (no HAILONG_OIDC_ISSUER: a provider
    compromised, officials cut off; theirs lived on the same way, operations audit)."""
    row = db.get(ConsoleSessionRecord, _row_id(session.sid))
    if row is None or row.ended_at is not None or row.expires_at <= utcnow():
        return None
    if row.official_id is not None:
        if not provider_sign_in:
            return None
        principal = official_principal(db, row.official_id)
    else:
        assert row.key_id is not None
        if not key_sign_in:
            return None
        principal = principal_by_id(db, row.key_id)
    return principal if principal is not None and principal.role in CONSOLE_ROLES else None


# The console page asked for when the sign-in was (an alert e-mail's link, opened from a
# webmail: the Strict session cookie is not sent on a cross-site click), where the sign-in
# then leads instead of the front page (alerts audit). Lax: it must survive the identity
# provider's cross-site return. A quarter of an hour to sign in.
NEXT_COOKIE = "hl_console_next"
NEXT_SECONDS = 900


def remember_next(response: Response, path: str, *, secure: bool) -> None:
    response.set_cookie(
        NEXT_COOKIE,
        path,
        max_age=NEXT_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def forget_next(response: Response, *, secure: bool) -> None:
    response.delete_cookie(
        NEXT_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax", secure=secure
    )


def safe_next(value: str | None) -> str | None:
    """A console page of this site, or None: never another site ('//evil.example', a
    scheme), a backslash some browsers read as a slash, or a control character."""
    if not value or len(value) > 2000 or not value.startswith("/console/"):
        return None
    if "\\" in value or "//" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    return value
