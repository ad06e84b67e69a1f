"""Slowing down guessing, per client address (or per tablet): survey tokens and short
codes, petition follow-up links, kiosk pairing codes, console sign-in keys. A module of its
own, below the domains whose pages and routes check it.

Failures are counted per fixed window in the database, so the limit holds across every
process of a scaled-out deployment. The counter is written in its own short transaction:
the request that failed is rolled back, the count of its failure must not be.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from sqlalchemy import Engine, text
from sqlmodel import Session

from service.errors import ServiceError
from service.settings import Settings


class TooManyGuesses(ServiceError):
    status_code = 429
    code = "rate_limited"


def _client_hash(settings: Settings, address: str) -> str:
    return hmac.new(settings.signing_key(), address.encode(), hashlib.sha256).hexdigest()


def _window(settings: Settings) -> tuple[int, int]:
    now = int(time.time())
    start = now - now % settings.guess_window_seconds
    return start, start + settings.guess_window_seconds - now


def _error(retry_after: int) -> TooManyGuesses:
    return TooManyGuesses(
        f"Too many wrong survey codes from your address. Try again in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
    )


def check_allowed(session: Session, settings: Settings, address: str) -> None:
    """In the request's own transaction: a second connection per request would have each
    request holding one pooled connection while asking for another."""
    start, retry_after = _window(settings)
    failures = session.execute(
        text("SELECT failures FROM guess_throttle WHERE client_hash = :c AND window_start = :w"),
        {"c": _client_hash(settings, address), "w": start},
    ).scalar()
    if failures is not None and failures >= settings.guess_limit:
        raise _error(retry_after)


def record_failure(engine: Engine, settings: Settings, address: str) -> None:
    start, retry_after = _window(settings)
    with engine.begin() as connection:
        # Old windows are useless: drop them on the way, so the table stays tiny.
        connection.execute(text("DELETE FROM guess_throttle WHERE window_start < :w"), {"w": start})
        failures = connection.execute(
            text(
                "INSERT INTO guess_throttle (client_hash, window_start, failures) "
                "VALUES (:c, :w, 1) ON CONFLICT (client_hash, window_start) "
                "DO UPDATE SET failures = guess_throttle.failures + 1 RETURNING failures"
            ),
            {"c": _client_hash(settings, address), "w": start},
        ).scalar_one()
    if failures > settings.guess_limit:
        raise _error(retry_after)
