"""One unit of work per request, run in ONE worker thread: connect, authenticate, do the
work, commit — then return to the event loop.

Why not a yield-dependency session: FastAPI runs each sync dependency and the endpoint in
separate thread-pool hops and commits after the response is built. Under load every pool
thread can end up waiting for a database connection held by a request that is itself
waiting for a thread to commit in, and the server stalls. Here a request holds a connection
only while its one thread runs, and a 2xx is sent only after the commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Annotated, TypeVar

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service.admin.keys import Principal, authenticate, hash_key
from service.db import transaction
from service.scoring.profile import Profile
from service.settings import Settings

T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer hl_...`")


class KeyCache:
    """Valid keys for a few seconds: most requests skip the key lookup. A revoked key stops
    working within `auth_cache_seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, key_hash: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key_hash] = (principal, time.monotonic() + self.seconds)

    def principal_for(self, authorization: str | None) -> Principal | None:
        """The principal of an `Authorization` header's key, if it is remembered."""
        raw = raw_key(authorization)
        return self.get(hash_key(raw)) if raw else None


def raw_key(authorization: str | None) -> str:
    return (authorization or "").partition(" ")[2].strip()


class UnitOfWork:
    def __init__(self, request: Request) -> None:
        state = request.app.state
        self.engine: Engine = state.engine
        self.settings: Settings = state.settings
        self.profile: Profile = state.profile
        self.client_address = request.client.host if request.client else "unknown"
        self._authorization = request.headers.get("authorization")
        self._keys: KeyCache = state.key_cache
        self._serialize: AbstractContextManager[object] = state.write_lock or nullcontext()

    async def run(self, work: Callable[[Session], T], conflict_retries: int = 0) -> T:
        """Run `work` in one transaction in one worker thread; a 2xx follows the commit.

        `conflict_retries`: redo the whole unit this many times when its COMMIT fails on a
        unique constraint, for work whose last writes go out with the COMMIT
        (`db.at_commit`) and whose only possible conflict there is a random collision.
        """
        return await anyio.to_thread.run_sync(self._run, work, conflict_retries)

    def _run(self, work: Callable[[Session], T], conflict_retries: int) -> T:
        for attempt in range(conflict_retries + 1):
            try:
                with self._serialize, transaction(self.engine) as session:
                    return work(session)
            except IntegrityError:
                if attempt == conflict_retries:
                    raise
        raise AssertionError("unreachable")

    def principal(self, session: Session, *roles: str) -> Principal:
        """The caller's key (401 without a valid one), checked against `roles` (403)."""
        principal = self._authenticate(session)
        if roles:
            principal.require_role(*roles)
        return principal

    async def authorize(self, *roles: str) -> Principal:
        """`principal` for work done outside a unit of work: a cached key costs no thread
        and no connection."""
        cached = self._cached()
        if cached is not None:
            cached.require_role(*roles)
            return cached
        return await self.run(lambda session: self.principal(session, *roles))

    def optional_principal(self, session: Session) -> Principal | None:
        return self._authenticate(session) if self._authorization else None

    def _cached(self) -> Principal | None:
        return self._keys.principal_for(self._authorization)

    def _authenticate(self, session: Session) -> Principal:
        cached = self._cached()
        if cached is not None:
            return cached
        principal = authenticate(session, self._authorization)
        self._keys.put(hash_key(raw_key(self._authorization)), principal)
        return principal


async def _api_unit_of_work(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UnitOfWork:
    return UnitOfWork(request)


async def _public_unit_of_work(request: Request) -> UnitOfWork:
    return UnitOfWork(request)


# API routes: documented as taking a bearer key (checked inside the unit of work).
ApiWork = Annotated[UnitOfWork, Depends(_api_unit_of_work)]
# Public routes (survey pages, QR, slips): the token in the URL is the credential.
PublicWork = Annotated[UnitOfWork, Depends(_public_unit_of_work)]
