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
one-by-one path in one_by_one.py, which answers it as it always has.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from prometheus_client import Histogram
from psycopg.errors import DeadlockDetected
from sqlalchemy import Engine, Select, and_, bindparam, or_, tuple_
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlmodel import Session, col, select

from service import db
from service.admin.agencies import paths_by_id
from service.auth.principal import Principal
from service.handovers import new_dossiers
from service.handovers.registry import staff_codes
from service.handovers.schemas import HandoverCreate, HandoverPublic
from service.handovers.views import link_view
from service.models import Agency, Counter, Dossier, Staff
from service.profile import Profile
from service.settings import Settings
from service.write_pipeline import BatchWriter, Outcome

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


@lru_cache(maxsize=MAX_BATCH)
def _existing_dossiers(agencies: int) -> Select[int, str]:
    """Built once per number of agencies in a batch: asked for every batch, and through the
    ORM it cost more than running it. A dossier is known by its agency and code (codes are
    unique per agency): one branch per agency, `agency_id = :agency_N AND code IN
    (:codes_N)`, both conditions of the unique index, whatever the table's statistics say.

    Measured on 500,000 dossiers of 50 agencies (EXPLAIN ANALYZE, 17 pairs of 15 agencies):
    this form 0.12 ms; "(agency, code) IN ((...), ...)" 0.17 ms, and on a young table
    PostgreSQL filtered the codes over a scan of the agency (bench/README, handovers' first
    round); "agency IN (...) AND code IN (...)" 1.24 ms (every agency with every code)."""
    table = Dossier.__table__  # type: ignore[attr-defined]
    return select(table.c.agency_id, table.c.code).where(
        or_(
            *(
                and_(
                    table.c.agency_id == bindparam(f"agency_{n}"),
                    table.c.code.in_(bindparam(f"codes_{n}", expanding=True)),
                )
                for n in range(agencies)
            )
        )
    )


def _existing(session: Session, pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (agency id, dossier code) are stored already."""
    if not pairs:
        return set()
    codes: dict[int, list[str]] = {}
    for agency_id, code in pairs:
        codes.setdefault(agency_id, []).append(code)
    params: dict[str, Any] = {}
    for n, (agency_id, agency_codes) in enumerate(sorted(codes.items())):
        params[f"agency_{n}"], params[f"codes_{n}"] = agency_id, agency_codes
    found = session.connection().execute(_existing_dossiers(len(codes)), params)
    return {(int(agency_id), str(code)) for agency_id, code in found}


class _Lookup:
    """What a batch names: its agencies, staff and counters (mostly remembered), and which
    of its dossiers exist already (always asked)."""

    def __init__(self, session: Session, directory: _Directory, batch: Sequence[_Handover]) -> None:
        payloads = [w.payload for w in batch]
        self.agencies = directory.agencies(session, {p.agency_code for p in payloads})
        pairs = {
            (agency.id, p.dossier_code)
            for p in payloads
            if (agency := self.agencies.get(p.agency_code)) is not None and agency.id is not None
        }
        self.existing = _existing(session, sorted(pairs))
        # Who may write where is decided on the tree as it is now: the directory's agencies
        # may be seconds old, and one moved out of a scoped key's tree meanwhile is no
        # longer that key's to write in. Unscoped keys reach every agency: nothing to read.
        self.paths: dict[int, str] = {}
        if any(w.principal.scope_path is not None for w in batch):
            ids = {agency.id for agency in self.agencies.values() if agency.id is not None}
            self.paths = paths_by_id(session, ids)
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

    def plain(self, waiting: _Handover) -> new_dossiers.NewHandover | None:
        """The handover as a new dossier to write, or None if it is not the plain case."""
        payload = waiting.payload
        agency = self.agencies.get(payload.agency_code)
        if agency is None or agency.id is None:
            return None
        if (agency.id, payload.dossier_code) in self.existing:
            return None
        scope = waiting.principal.scope_path
        if scope is not None and not self.paths.get(agency.id, "").startswith(scope):
            return None  # the one-by-one way answers it, from the tree as it is
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
    a value the database refuses — one request's fault, not its whole batch's.

    Or a connection found broken, as every pooled one is after a database restart: each
    request of the batch heard a 500 (audit). One by one, each is redone on a fresh
    connection (db.in_transaction), and a handover the lost COMMIT did store is found there
    and answered with its invitation."""
    if isinstance(exc, IntegrityError | DataError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    return isinstance(exc.orig, DeadlockDetected) or exc.connection_invalidated


@dataclass(frozen=True)
class _Handover:
    principal: Principal
    payload: HandoverCreate


# What a batch is once built: its session with the rows waiting for the COMMIT (None if
# building failed), and each handover's outcome.
_Built = tuple[Session | None, list[Outcome]]


class HandoverWriter(BatchWriter[_Handover, _Built]):
    """One per process: threads that write the waiting handovers, a batch at a time each.

    One thread gathers and builds at a time (BatchWriter's gathering lock) and lets go
    before its COMMIT: the next one gathers what came meanwhile and builds it while this
    one commits. Gathering at the first arrival instead made batches of a few handovers,
    and a batch's own cost is that of a dozen rows (bench/README.md).
    """

    max_batch = MAX_BATCH

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        profile: Profile,
        write_lock: AbstractContextManager[object] | None = None,
        batch_sizes: Histogram | None = None,
    ) -> None:
        super().__init__(1 if settings.is_sqlite else POSTGRES_WRITERS, write_lock)
        self.engine = engine
        self.settings = settings
        self.profile = profile
        self._directory = _Directory(settings.auth_cache_seconds)
        self._batch_sizes = batch_sizes

    async def issue(self, principal: Principal, payload: HandoverCreate) -> HandoverPublic | None:
        """The new survey once its transaction has committed; None when the handover is not
        a plain new dossier (or the writer has stopped): the caller then issues it itself."""
        if not self.running:
            return None
        view: HandoverPublic | None = await self.submit(_Handover(principal, payload))
        return view

    def _prepare(self, items: list[_Handover]) -> _Built:
        session = None
        try:  # opening the session fails too when the database is down
            session = Session(self.engine, expire_on_commit=False)
            return session, [Outcome(value=view) for view in self._write_in(session, items)]
        except Exception as exc:
            if session is not None:
                _close(session, failed=True)  # rolls back
            return None, self._failed(items, exc)

    def _finish(self, items: list[_Handover], prepared: _Built) -> list[Outcome]:
        session, outcomes = prepared
        if session is None:
            return outcomes
        failed = True
        try:
            db.commit(session)
            failed = False
        except Exception as exc:
            # _close rolls back; a failing rollback must not hide why the batch failed.
            return self._failed(items, exc)
        finally:
            _close(session, failed=failed)
        return outcomes

    @staticmethod
    def _failed(items: list[_Handover], exc: Exception) -> list[Outcome]:
        if _hand_back(exc):
            # Each handover goes the one-by-one way, which finds the dossier or draws
            # another short code.
            return [Outcome(value=None) for _ in items]
        # The database is down, say: every request hears of it (a 503, web/errors.py).
        log.warning("handover batch of %d failed: %r", len(items), exc)
        return [Outcome(error=exc) for _ in items]

    def _write_in(self, session: Session, batch: list[_Handover]) -> list[HandoverPublic | None]:
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
                survey_id=done.invitation["public_id"],
                short_code=done.invitation["short_code"],
                expires_at=done.invitation["expires_at"],
                status="issued",
                messages=done.messages,
            )
        return outcomes
