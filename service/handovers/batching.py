"""New dossiers posted at about the same time are written in one transaction.

Why: one handover on its own is a transaction of its own — a commit (an fsync) and an
update of the same counter rows as every other handover of its agency and day, so that
under load they queue on those rows. Here writer threads take every handover waiting and
write them with their summed counter changes in one transaction (new_dossiers.py: one
multi-row INSERT per table). Nothing waits for company: a lone
handover is written at once, and under load the next batch gathers while the previous
one commits. A 201 is still sent only after the commit that stored it.

Only the plain case is batched: a new dossier, for a known agency within the key's scope,
naming staff and a counter already registered. Anything else — a dossier posted before (the
update path), an unknown agency, a new staff code, the same dossier twice in one batch, a
conflict with a concurrent writer — is handed back (`None`), and the caller takes the
one-by-one path in service.py, which answers it as it always has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from prometheus_client import Histogram
from psycopg.errors import DeadlockDetected
from sqlalchemy import Engine, Select, bindparam, tuple_
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlmodel import Session, col, select

from service import db
from service.admin.keys import Principal
from service.handovers import new_dossiers
from service.handovers.schemas import HandoverCreate, HandoverPublic
from service.handovers.service import link_view, staff_codes
from service.models import Agency, Counter, Dossier, Staff
from service.scoring.profile import Profile
from service.settings import Settings

log = logging.getLogger("hailong.handovers")
K = TypeVar("K")
V = TypeVar("V")
# Enough to carry a burst of many connections in a few batches; small enough that one
# batch's statements stay short.
MAX_BATCH = 64
# Writer threads per process on PostgreSQL. With one, a process sat idle while its batch
# was in the database (every request of the process waiting for it); a second builds the
# next batch meanwhile: 1,480 -> 1,800 handovers/s in bench/handover.py (mean of runs).
# SQLite has one writer at a time whatever the threads: one thread there.
POSTGRES_WRITERS = 2


@dataclass
class _Waiting:
    principal: Principal
    payload: HandoverCreate
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[HandoverPublic | None]


def _settle(outcomes: list[tuple[asyncio.Future[HandoverPublic | None], Any]]) -> None:
    for future, outcome in outcomes:
        if future.done():  # the request was cancelled (its client went away)
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class _Directory:
    """Agencies, staff and counters by code, remembered for a few seconds (like API keys,
    `auth_cache_seconds`): a batch then asks the database only which of its dossiers exist.
    Rows of these tables are added, seldom changed; a moved agency is seen within seconds,
    and a stale id fails the batch on its foreign key, which sends it the one-by-one way."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._agencies: dict[str, tuple[Agency, float]] = {}
        self._staff: dict[tuple[int, str], tuple[int, float]] = {}
        self._counters: dict[tuple[int, str], tuple[int, float]] = {}

    @staticmethod
    def _fresh(entries: dict[K, tuple[V, float]], keys: set[K], now: float) -> dict[K, V]:
        # One read per key: another writer thread may clear the dict meanwhile.
        found = {k: entry for k in keys if (entry := entries.get(k)) is not None}
        return {k: value for k, (value, until) in found.items() if until > now}

    def _remember(self, entries: dict[K, tuple[V, float]], found: dict[K, V]) -> None:
        if len(entries) > 10_000:
            entries.clear()
        until = time.monotonic() + self.seconds
        entries.update((k, (v, until)) for k, v in found.items())

    def agencies(self, session: Session, codes: set[str]) -> dict[str, Agency]:
        known = self._fresh(self._agencies, codes, time.monotonic())
        if missing := codes - known.keys():
            rows = session.exec(select(Agency).where(col(Agency.code).in_(missing))).all()
            found = {agency.code: agency for agency in rows}
            for agency in rows:
                session.expunge(agency)  # kept beyond this session
            self._remember(self._agencies, found)
            known.update(found)
        return known

    def _ids(
        self,
        session: Session,
        model: type[Staff] | type[Counter],
        entries: dict[tuple[int, str], tuple[int, float]],
        keys: set[tuple[int, str]],
    ) -> dict[tuple[int, str], int]:
        known = self._fresh(entries, keys, time.monotonic())
        if missing := keys - known.keys():
            pair = tuple_(col(model.agency_id), col(model.code))
            rows = session.exec(
                select(model.agency_id, model.code, model.id).where(pair.in_(missing))
            ).all()
            found = {(a, code): id_ for a, code, id_ in rows if id_ is not None}
            self._remember(entries, found)
            known.update(found)
        return known

    def staff(self, session: Session, keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
        return self._ids(session, Staff, self._staff, keys)

    def counters(self, session: Session, keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
        return self._ids(session, Counter, self._counters, keys)


@lru_cache(maxsize=1)
def _existing_dossiers() -> Select[int, str]:
    """Built once: asked for every batch, and through the ORM it cost more than running it.
    A dossier is known by its agency and code (codes are unique per agency)."""
    table = Dossier.__table__  # type: ignore[attr-defined]
    pair = tuple_(table.c.agency_id, table.c.code)
    return select(table.c.agency_id, table.c.code).where(
        pair.in_(bindparam("pairs", expanding=True))
    )


def _existing(session: Session, pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (agency id, dossier code) are stored already."""
    if not pairs:
        return set()
    found = session.connection().execute(_existing_dossiers(), {"pairs": pairs})
    return {(int(agency_id), str(code)) for agency_id, code in found}


class _Lookup:
    """What a batch names: its agencies, staff and counters (mostly remembered), and which
    of its dossiers exist already (always asked)."""

    def __init__(self, session: Session, directory: _Directory, batch: Sequence[_Waiting]) -> None:
        payloads = [w.payload for w in batch]
        self.agencies = directory.agencies(session, {p.agency_code for p in payloads})
        pairs = {
            (agency.id, p.dossier_code)
            for p in payloads
            if (agency := self.agencies.get(p.agency_code)) is not None and agency.id is not None
        }
        self.existing = _existing(session, sorted(pairs))
        staff_keys: set[tuple[int, str]] = set()
        counter_keys: set[tuple[int, str]] = set()
        for p in payloads:
            agency = self.agencies.get(p.agency_code)
            if agency is None or agency.id is None:
                continue
            staff_keys.update((agency.id, code) for code in staff_codes(p))
            if p.counter_code is not None:
                counter_keys.add((agency.id, p.counter_code))
        self.staff = directory.staff(session, staff_keys) if staff_keys else {}
        self.counters = directory.counters(session, counter_keys) if counter_keys else {}

    def plain(self, waiting: _Waiting) -> new_dossiers.NewHandover | None:
        """The handover as a new dossier to write, or None if it is not the plain case."""
        payload = waiting.payload
        agency = self.agencies.get(payload.agency_code)
        if agency is None or agency.id is None:
            return None
        if (agency.id, payload.dossier_code) in self.existing:
            return None
        if not waiting.principal.can_see(agency):
            return None
        staff = {code: self.staff.get((agency.id, code)) for code in staff_codes(payload)}
        counter_id = None
        if payload.counter_code is not None:
            counter_id = self.counters.get((agency.id, payload.counter_code))
            if counter_id is None:
                return None
        if None in staff.values():
            return None
        staff_ids = {code: id_ for code, id_ in staff.items() if id_ is not None}
        return new_dossiers.NewHandover(payload, agency, staff_ids, counter_id)


def _close(session: Session, *, failed: bool = False) -> None:
    """Close (and so roll back) the session; after a failed batch, a failing rollback
    (the connection may be what broke) must not hide the batch's own error."""
    try:
        session.close()
    except Exception:
        if not failed:
            raise
        log.warning("closing a failed batch's session failed", exc_info=True)


def _hand_back(exc: Exception) -> bool:
    """Whether a failed batch is better written one by one than failed: a dossier or short
    code taken by a concurrent writer (another thread or process), a deadlock with one, or
    a value the database refuses — one request's fault, not its whole batch's."""
    if isinstance(exc, IntegrityError | DataError):
        return True
    return isinstance(exc, DBAPIError) and isinstance(exc.orig, DeadlockDetected)


class HandoverWriter:
    """One per process: threads that write the waiting handovers, a batch at a time each."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        profile: Profile,
        write_lock: AbstractContextManager[object] | None = None,
        batch_sizes: Histogram | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.profile = profile
        self._serialize: AbstractContextManager[object] = write_lock or nullcontext()
        self._gathering = threading.Lock()
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._directory = _Directory(settings.auth_cache_seconds)
        self._batch_sizes = batch_sizes
        writers = 1 if settings.is_sqlite else POSTGRES_WRITERS
        self._threads = [
            threading.Thread(target=self._run, name=f"handover-writer-{n}", daemon=True)
            for n in range(writers)
        ]
        self._running = False

    def start(self) -> None:
        self._running = True
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Write what is waiting, then end the threads."""
        self._running = False
        for _ in self._threads:
            self._queue.put(None)  # one stop sign each
        deadline = time.monotonic() + 30
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    async def issue(self, principal: Principal, payload: HandoverCreate) -> HandoverPublic | None:
        """The new survey once its transaction has committed; None when the handover is not
        a plain new dossier (or the writer has stopped): the caller then issues it itself."""
        if not self._running:
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[HandoverPublic | None] = loop.create_future()
        self._queue.put(_Waiting(principal, payload, loop, future))
        return await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None or self._write([first]):
                return

    def _write(self, batch: list[_Waiting]) -> bool:
        """Add what is waiting to `batch`, write it and answer it; True if a stop sign was
        among what waited (even if the batch failed: the thread must still stop)."""
        stopping = False
        try:
            with self._serialize:
                # One writer gathers and builds at a time, and lets go before its COMMIT:
                # the next one gathers what came meanwhile and builds it while this one
                # commits. Gathering at the first arrival instead made batches of a few
                # handovers, and a batch's own cost is that of a dozen rows
                # (bench/README.md).
                with self._gathering:
                    stopping = self._gather(batch)
                    session, outcomes = self._build(batch)
                if session is not None:
                    outcomes = self._commit(session, batch, outcomes)
            self._answer(batch, outcomes)
        except Exception as exc:
            # A bug: the thread must live on, or every later handover would wait forever.
            log.exception("handover writer failed on a batch of %d", len(batch))
            self._answer(batch, [exc] * len(batch))
        return stopping

    def _gather(self, batch: list[_Waiting]) -> bool:
        """Add what is waiting to `batch`; True if a stop sign was among it."""
        while len(batch) < MAX_BATCH:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                return False
            if more is None:
                return True
            batch.append(more)
        return False

    def _build(self, batch: list[_Waiting]) -> tuple[Session | None, Sequence[Any]]:
        """The batch's session, its rows built and waiting for the COMMIT (None if that
        failed), and the outcomes it will give."""
        session = None
        try:  # opening the session fails too when the database is down
            session = self._session()
            return session, self._write_in(session, batch)
        except Exception as exc:
            if session is not None:
                _close(session, failed=True)  # rolls back
            return None, self._failed(batch, exc)

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def _commit(
        self, session: Session, batch: list[_Waiting], outcomes: Sequence[Any]
    ) -> Sequence[Any]:
        failed = True
        try:
            db.commit(session)
            failed = False
        except Exception as exc:
            # _close rolls back; a failing rollback must not hide why the batch failed.
            return self._failed(batch, exc)
        finally:
            _close(session, failed=failed)
        return outcomes

    @staticmethod
    def _failed(batch: list[_Waiting], exc: Exception) -> list[Any]:
        if _hand_back(exc):
            # Each handover goes the one-by-one way, which finds the dossier or draws
            # another short code.
            return [None] * len(batch)
        # The database is down, say: every request hears of it.
        log.warning("handover batch of %d failed: %r", len(batch), exc)
        return [exc] * len(batch)

    @staticmethod
    def _answer(batch: list[_Waiting], outcomes: Sequence[Any]) -> None:
        """Hand each request its outcome, with one wake-up per event loop for the whole
        batch (each call_soon_threadsafe writes to the loop's wake-up pipe)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any]]] = {}
        for waiting, outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(waiting.loop, []).append((waiting.future, outcome))
        for loop, settled in by_loop.items():
            # A closed loop (RuntimeError) has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, settled)

    def _write_in(self, session: Session, batch: list[_Waiting]) -> list[HandoverPublic | None]:
        lookup = _Lookup(session, self._directory, batch)
        plain: list[tuple[int, new_dossiers.NewHandover]] = []
        keys: set[tuple[int | None, str]] = set()
        for index, waiting in enumerate(batch):
            new = lookup.plain(waiting)
            # The same dossier twice in one batch: the second is an update of the first.
            if new is not None and (key := (new.agency.id, new.payload.dossier_code)) not in keys:
                keys.add(key)
                plain.append((index, new))
        # Written in code order: two batches naming the same dossiers then wait for each
        # other on the unique index in one order, instead of deadlocking.
        plain.sort(key=lambda item: (item[1].payload.dossier_code, item[1].agency.id or 0))
        outcomes: list[HandoverPublic | None] = [None] * len(batch)
        news = [new for _, new in plain]
        written = new_dossiers.write(session, news, self.settings, self.profile)
        if self._batch_sizes is not None and news:
            self._batch_sizes.observe(len(news))
        for (index, new), done in zip(plain, written, strict=True):
            outcomes[index] = link_view(
                self.settings,
                token=done.token,
                dossier_code=new.payload.dossier_code,
                survey_id=done.invitation.public_id,
                short_code=done.invitation.short_code,
                expires_at=done.invitation.expires_at,
                status="issued",
            )
        return outcomes
