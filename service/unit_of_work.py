"""One unit of work per request, run in ONE worker thread: connect, authenticate, do the
work, commit — then return to the event loop.

Why not a yield-dependency session: FastAPI runs each sync dependency and the endpoint in
separate thread-pool hops and commits after the response is built. Under load every pool
thread can end up waiting for a database connection held by a request that is itself
waiting for a thread to commit in, and the server stalls. Here a request holds a connection
only while its one thread runs, and a 2xx is sent only after the commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TypeVar

import anyio.to_thread
from fastapi import Request
from sqlalchemy import Engine
from sqlmodel import Session

from service import throttle
from service.auth.cache import KeyCache
from service.auth.principal import Principal
from service.auth.roles import API_ROLES
from service.db import in_transaction
from service.profile import Profile
from service.settings import Settings
from service.write_pipeline import WritePipeline

T = TypeVar("T")
# Set in a request's scope when it came as HEAD and is served as a GET (app.HeadAsGet).
HEAD_SCOPE_KEY = "hailong.head"


class UnitOfWork:
    def __init__(self, request: Request, roles: tuple[str, ...] = API_ROLES) -> None:
        """`roles`: the key roles the route takes (web/deps.py's aliases declare them)."""
        self.roles = roles
        self._authorized: Principal | None = None  # authorize()'s answer, once given
        state = request.app.state
        self._state = state
        self.engine: Engine = state.engine
        self.settings: Settings = state.settings
        self.profile: Profile = state.profile
        self.client_address = request.client.host if request.client else "unknown"
        self._authorization = request.headers.get("authorization")
        self._keys: KeyCache = state.key_cache
        self._serialize: AbstractContextManager[object] = state.write_lock or nullcontext()
        # HEAD: the answer a GET would get, without what a GET does besides answering (a
        # link checker's HEAD marked a survey opened; audit).
        self.only_looking: bool = request.scope.get(HEAD_SCOPE_KEY, False)

    async def run(self, work: Callable[[Session], T], conflict_retries: int = 1) -> T:
        """Run `work` in one transaction in one worker thread; a 2xx follows the commit.

        `conflict_retries`: redo the whole unit this many times when it fails on a unique
        constraint (`db.in_transaction`: a concurrent request stored the same key first,
        or a random code collided)."""
        return await anyio.to_thread.run_sync(self._run, work, conflict_retries)

    async def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` as `run` does, but together with the other writes waiting at the
        moment, in one transaction (write_pipeline.py): for the frequent small writes of
        many clients at once, such as citizens' answers. A 2xx follows the commit."""
        pipeline: WritePipeline = self._state.write_pipeline
        return await pipeline.run(work)

    async def guarded(
        self,
        work: Callable[[Session, throttle.Guess], T],
        *,
        run: Callable[[Callable[[Session], T]], Awaitable[T]] | None = None,
        who: str | None = None,
        unguessable: bool = False,
    ) -> T:
        """`work(session, guess)` by `run` (`self.run` unless told: `self.write` for work
        done with the other writes of the moment), its `guess.look` throttled for `who`,
        the client's address unless told (service/throttle): 429 (TooManyGuesses) without
        a lookup when it guessed wrong too often; `unguessable` (a link's whole token):
        looked up all the same, only a miss refused."""
        return await throttle.guarded(
            self.engine,
            self.settings,
            who or self.client_address,
            run or self.run,
            work,
            unguessable,
        )

    def _run(self, work: Callable[[Session], T], conflict_retries: int) -> T:
        return in_transaction(
            self.engine, work, unique_retries=conflict_retries, serialize=self._serialize
        )

    def principal(self, session: Session) -> Principal:
        """The caller's key (401 without a valid one), of one of the route's roles (403).
        Asked again in each unit of work, so that a key revoked meanwhile stops there."""
        principal = self._authenticate(session)
        principal.require_role(*self.roles)
        return principal

    async def authorize(self) -> Principal:
        """`principal` for work done outside a unit of work: a cached key costs no thread
        and no connection. Asked once per request (the route's KeyedWork asks first; a
        handover's batch asks again): the first answer stands for the request."""
        if self._authorized is None:
            cached = self._cached()
            if cached is not None:
                cached.require_role(*self.roles)
                self._authorized = cached
            else:
                self._authorized = await self.run(self.principal)
        return self._authorized

    def forget_key(self, key_id: int) -> None:
        """After a key's revocation has committed: this process refuses it at once."""
        self._keys.forget(key_id)

    def optional_principal(self, session: Session) -> Principal | None:
        return self._authenticate(session) if self._authorization else None

    def _cached(self) -> Principal | None:
        return self._keys.principal_for(self._authorization)

    def _authenticate(self, session: Session) -> Principal:
        return self._keys.authenticate(session, self._authorization)
