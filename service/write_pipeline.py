"""Units of work that write, run together in shared transactions.

Why: a citizen's answer on its own is a transaction of its own — a COMMIT (an fsync) and
an update of the same day-counter rows (its agency, today) as every other answer of the
agency, so that under load answers queue on those rows and on the disk. Here writer
threads take every unit of work waiting and run them in ONE transaction, each in a
SAVEPOINT of its own (`db.part`) once the transaction holds another's writes (until then,
a unit that fails rolls the transaction back): a unit that fails (an answered survey, a
refused value) takes nothing of the others with it, and the counter changes of all are
summed and written once, just before the one COMMIT. Nothing waits for company: a lone
unit runs at once, and under load the next batch gathers while the previous one runs. A
2xx is still sent only after the COMMIT that stored it.

If that COMMIT fails (a deadlock, a unique value taken at the last moment), each unit of
the batch is run again on its own, so that one unit's conflict is only its own error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from service import db

log = logging.getLogger("hailong.writes")
T = TypeVar("T")


Item = TypeVar("Item")
P = TypeVar("P")


@dataclass
class _Waiting(Generic[Item]):
    item: Item
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


@dataclass
class Outcome:
    """What one waiting request hears: a value, or an error raised to it."""

    value: Any = None
    error: BaseException | None = None


class BatchWriter(Generic[Item, P]):
    """Writer threads that take what requests hand them in batches: the machinery shared
    by the write pipeline below and the handover writer (handovers/batching.py).

    A thread takes the first item waiting, then (holding the gathering lock) everything
    else waiting and `_prepare`s the batch; it lets go of the lock before `_finish`, its
    COMMIT, so that the next thread gathers what came meanwhile and prepares it.
    """

    max_batch = 32

    def __init__(self, threads: int, write_lock: AbstractContextManager[object] | None) -> None:
        self._serialize: AbstractContextManager[object] = write_lock or nullcontext()
        self._gathering = threading.Lock()
        self._queue: queue.SimpleQueue[_Waiting[Item] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"{type(self).__name__}-{n}", daemon=True)
            for n in range(threads)
        ]
        self.running = False

    def start(self) -> None:
        self.running = True
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Write what is waiting, then end the threads."""
        self.running = False
        for _ in self._threads:
            self._queue.put(None)  # one stop sign each
        deadline = time.monotonic() + 30
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    async def submit(self, item: Item) -> Any:
        """The item's outcome, once the batch it went in has been written."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Waiting(item, loop, future))
        return await future

    def _prepare(self, items: list[Item]) -> P:
        raise NotImplementedError

    def _finish(self, items: list[Item], prepared: P) -> list[Outcome]:
        raise NotImplementedError

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            try:
                with self._serialize:
                    with self._gathering:
                        stopping = self._gather(batch)
                        items = [waiting.item for waiting in batch]
                        prepared = self._prepare(items)
                    outcomes = self._finish(items, prepared)
            except Exception as exc:  # a bug: the thread must live on for later requests
                log.exception("%s failed on a batch of %d", type(self).__name__, len(batch))
                outcomes = [Outcome(error=exc) for _ in batch]
            _answer(batch, outcomes)
            if stopping:
                return

    def _gather(self, batch: list[_Waiting[Item]]) -> bool:
        """Add what is waiting to `batch`; True if a stop sign was among it."""
        while len(batch) < self.max_batch:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                return False
            if more is None:
                return True
            batch.append(more)
        return False


Work = Callable[[Session], Any]


class WritePipeline(BatchWriter[Work, None]):
    """Units of work (`work(session)`) written together; one per process."""

    def __init__(
        self, engine: Engine, threads: int, write_lock: AbstractContextManager[object] | None
    ) -> None:
        super().__init__(threads, write_lock)
        self.engine = engine
        # SQLite: batches of one. It has one writer anyway, and its Python driver begins a
        # transaction only at the first INSERT or UPDATE, so that a SAVEPOINT before one
        # would start, and its release commit, a transaction of its own.
        self.max_batch = 1 if engine.dialect.name == "sqlite" else BatchWriter.max_batch

    async def run(self, work: Callable[[Session], T]) -> T:
        """`work(session)`'s result once the transaction it ran in has committed; its
        exception if it raised (then nothing it wrote is kept)."""
        result: T = await self.submit(work)
        return result

    def _prepare(self, items: list[Work]) -> None:
        return None  # the units' own work runs in _finish, beside the next gathering

    def _finish(self, items: list[Work], prepared: None) -> list[Outcome]:
        if len(items) == 1:
            return [self._alone(items[0])]
        try:
            return self._together(items)
        except Exception:
            # The shared COMMIT failed: each unit again, alone, hears its own outcome. Even
            # when it failed on a lost connection, its outcome unknown (db.redone_if_lost
            # would not redo): what is written here (answers, opt-outs) is stored once
            # whatever is redone, and an answer the lost COMMIT did store hears 409 already
            # answered (200 with its client_submission_id) rather than a 503.
            log.info("a batch of %d failed at COMMIT; writing it one by one", len(items))
            return [self._alone(work) for work in items]

    def _together(self, items: list[Work]) -> list[Outcome]:
        outcomes: list[Outcome | None] = []
        with Session(self.engine, expire_on_commit=False) as session:
            kept = False  # whether the transaction holds a unit's writes
            for work in items:
                # Until one unit of the batch has succeeded, the transaction holds nothing
                # of the others: a unit runs without a SAVEPOINT (two round trips fewer),
                # and if it fails, rolling the transaction back takes only its own writes.
                try:
                    with db.part(session) if kept else _rolled_back_on_error(session):
                        outcomes.append(Outcome(value=work(session)))
                    kept = True
                except DBAPIError:
                    # A conflict with another transaction (a deadlock, say) is not this
                    # unit's fault: it runs again on its own once the batch is stored.
                    outcomes.append(None)
                except Exception as exc:
                    outcomes.append(Outcome(error=exc))
            db.commit(session)
        return [
            outcome if outcome is not None else self._alone(work)
            for work, outcome in zip(items, outcomes, strict=True)
        ]

    def _alone(self, work: Work) -> Outcome:
        # Redone on a unique conflict, and on a connection found broken (a database
        # restart) before its COMMIT (db.in_transaction).
        try:
            return Outcome(value=db.in_transaction(self.engine, work))
        except Exception as exc:
            return Outcome(error=exc)


@contextlib.contextmanager
def _rolled_back_on_error(session: Session) -> Iterator[None]:
    """A unit of work straight in a transaction that holds nothing else: if it raises, the
    transaction is rolled back (and what it kept for the COMMIT dropped, db.py)."""
    try:
        yield
    except BaseException:
        session.rollback()
        raise


def _settle(settled: list[tuple[asyncio.Future[Any], Outcome]]) -> None:
    for future, outcome in settled:
        if future.done():  # the request was cancelled (its client went away)
            continue
        if outcome.error is not None:
            future.set_exception(outcome.error)
        else:
            future.set_result(outcome.value)


def _answer(batch: list[_Waiting[Any]], outcomes: list[Outcome]) -> None:
    """Hand each request its outcome, with one wake-up per event loop for the batch (each
    call_soon_threadsafe writes to the loop's wake-up pipe)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Outcome]]] = {}
    for waiting, outcome in zip(batch, outcomes, strict=True):
        by_loop.setdefault(waiting.loop, []).append((waiting.future, outcome))
    for loop, settled in by_loop.items():
        # A closed loop (RuntimeError) has nobody waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, settled)
