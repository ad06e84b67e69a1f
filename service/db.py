"""Engine and per-request session: one transaction per request, services only flush."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from typing import Any, Protocol, TypeVar, cast

from psycopg import Error as PsycopgError
from psycopg import InterfaceError as PsycopgInterfaceError
from psycopg import OperationalError as PsycopgOperationalError
from sqlalchemy import Engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import ORMExecuteState, SessionTransaction
from sqlalchemy.sql import Executable
from sqlmodel import Session, create_engine

from service.models.write_order import written_columns
from service.settings import Settings

log = logging.getLogger("hailong.db")

T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; busy_timeout queues writers instead
    # of failing them with "database is locked" under concurrent requests.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Codes are unique with their case: LIKE must mind it, as PostgreSQL's does (the scope
    # filters' prefix match, models/agency.path_within).
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()


def _sqlite_write_lock(table: str) -> str:
    """A statement that changes nothing but makes SQLite take the database's write lock."""
    return f'UPDATE "{table}" SET rowid = rowid WHERE 0'


def _sqlite_lock_before_reading_for_update(state: ORMExecuteState) -> None:
    """A read FOR UPDATE is the start of a read-then-write (counters moved by after -
    before). PostgreSQL locks the rows; SQLite ignores the clause, and pysqlite begins a
    transaction only at the first write, so another process (`hailong calendar set`, a
    second worker, an import) could commit between this read and the write, and its change
    was undone in the counters (recompute audit). On SQLite, the database's write lock is
    taken first: what is read next stays as read until this transaction ends.

    Not for a claim that skips locked rows (the workers' polls): it re-checks with a
    conditional UPDATE, and must not wait (or fail, after busy_timeout) behind a long
    write such as an import's chunk when nothing is due (review)."""
    wanted = getattr(state.statement, "_for_update_arg", None)
    if not state.is_select or wanted is None or wanted.skip_locked or wanted.nowait:
        return
    if state.session.get_bind().dialect.name != "sqlite":
        return
    connection = state.session.connection()
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:  # pysqlite begins one at a write only
        connection.exec_driver_sql(_sqlite_write_lock("agency"))


event.listen(Session, "do_orm_execute", _sqlite_lock_before_reading_for_update)


def make_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        engine = create_engine(
            settings.database_url,
            connect_args={"check_same_thread": False, "timeout": 10},
            hide_parameters=True,  # as below
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        # No pre-ping: it costs a round trip per request. Broken connections are discarded
        # when they fail (the work that found one is redone: `redone_if_lost`), and
        # recycled before servers or proxies drop idle ones.
        pool_recycle=1800,
        # A failing statement's exception (and the traceback a log keeps) shows no bound
        # value: they hold citizens' phone numbers and e-mail addresses (audit).
        hide_parameters=True,
    )


# Statements that need no answer, kept on the session to be sent with its COMMIT.
_AT_COMMIT = "hailong.at_commit"
# What a transaction gathers as it goes, to be written once just before its COMMIT.
_GATHERED = "hailong.gathered"


def at_commit(
    session: Session,
    statement: Executable,
    params: dict[str, Any] | Sequence[dict[str, Any]],
) -> None:
    """Run `statement` in this transaction, just before it commits.

    For writes nobody reads back within the request, above all the day counters: every
    handover of an agency and day updates the same counter rows, and their row locks are
    held from the write to the end of the commit. On PostgreSQL these statements and the
    COMMIT go out as one pipeline, so the locks are held for the server's own work and the
    fsync only, not for round trips or for this thread waiting for the GIL in between.
    Errors (a unique violation, say) surface from the commit, as the unit of work's error.
    """
    _in_transaction(session)
    session.info.setdefault(_AT_COMMIT, []).append((statement, params))


class Summable(Protocol):
    def add(self, other: Any) -> None: ...


S = TypeVar("S", bound=Summable)


def gathered(
    session: Session, key: str, start: Callable[[], S], write: Callable[[Session, S], None]
) -> S:
    """This transaction's value under `key`: made by `start()` on first use, handed to
    `write(session, value)` just before the COMMIT (before the statements kept by
    `at_commit`, which `write` may add to), dropped on rollback.

    For changes made many times in a transaction and best written once, such as the day
    counters: written together, sorted, their rows are locked in one order by everyone.
    """
    _in_transaction(session)
    entries: dict[str, tuple[Any, Callable[[Session, Any], None]]] = session.info.setdefault(
        _GATHERED, {}
    )
    if key not in entries:
        entries[key] = (start(), write)
    value: S = entries[key][0]
    return value


@contextmanager
def part(session: Session) -> Iterator[None]:
    """One unit of work among others in a shared transaction (write_pipeline.py).

    Its writes are in a SAVEPOINT, and what it keeps for the COMMIT (`gathered`,
    `at_commit`) is kept apart: if it raises, all of it goes, and the other units keep
    theirs; if it ends well, what it gathered is added to the transaction's.
    """
    _in_transaction(session)
    outer_gathered = session.info.pop(_GATHERED, {})
    outer_pending = session.info.pop(_AT_COMMIT, [])
    try:
        with session.begin_nested():
            yield
        for key, (value, write) in session.info.pop(_GATHERED, {}).items():
            if key in outer_gathered:
                outer_gathered[key][0].add(value)
            else:
                outer_gathered[key] = (value, write)
        outer_pending.extend(session.info.pop(_AT_COMMIT, []))
    finally:
        session.info[_GATHERED] = outer_gathered
        session.info[_AT_COMMIT] = outer_pending


def _in_transaction(session: Session) -> None:
    """What is kept for the COMMIT lives on `session.info`, which outlasts transactions: a
    transaction must be under way for its rollback to drop it (_drop_at_commit). Beginning
    one takes no connection yet."""
    if not session.in_transaction():
        session.begin()


def _write_gathered(session: Session) -> None:
    for value, write in session.info.pop(_GATHERED, {}).values():
        write(session, value)


def check_row(
    model: Any, row: Mapping[str, Any], leave_out: frozenset[str] | set[str] = frozenset({"id"})
) -> None:
    """A row built by hand for a Core INSERT names every column of its table but
    `leave_out` and those the database fills (write_order.py), and nothing else: a column
    added to the model fails here, on every path and both databases, not in one INSERT at
    run time."""
    names = _column_names(model)
    if row.keys() != names - leave_out:
        missing = sorted(names - leave_out - row.keys())
        unknown = sorted(row.keys() - names)
        raise AssertionError(f"{model.__name__} row: missing {missing}, unknown {unknown}")


@lru_cache(maxsize=64)
def _column_names(model: Any) -> frozenset[str]:
    return frozenset(c.name for c in written_columns(model.__table__))


Q = TypeVar("Q")  # a select: SQLAlchemy's or SQLModel's (which mypy sees as unrelated)


def for_update(query: Q) -> Q:
    """`query`'s rows locked FOR UPDATE and read afresh, not taken from the session as it
    had them: what a change moving the counters by (after - before) must start from, so that
    a concurrent one committed meanwhile is not undone (re-posts, calendar changes)."""
    locked: Q = cast(Any, query).with_for_update().execution_options(populate_existing=True)
    return locked


def dialect_insert(dialect: str, table: Any) -> Any:
    """The INSERT of this database kind, for its ON CONFLICT clauses (the day counters'
    upsert, the score markers)."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def commit(session: Session) -> None:
    """Flush, run the statements kept by `at_commit`, and commit."""
    _write_gathered(session)
    pending: list[tuple[Executable, Any]] = session.info.pop(_AT_COMMIT, [])
    if not pending:
        session.commit()
        return
    session.flush()
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        for statement, params in pending:
            connection.execute(statement, params)
        session.commit()
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.pipeline():
            for statement, params in pending:
                connection.execute(statement, params)
            # The driver's commit, not the session's: the session would hand the
            # connection back to the pool (to another thread) before the pipeline ends.
            driver.commit()
    except PsycopgError as exc:
        # Raised by the pipeline's end rather than by SQLAlchemy: wrap it the same way, so
        # callers see IntegrityError and friends as from any other statement, and a lost
        # connection as SQLAlchemy marks one (the handover batch hands itself back on it).
        lost = connection.dialect.is_disconnect(cast(Any, exc), driver, None)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            None, None, exc, PsycopgError, connection_invalidated=lost
        ) from exc
    session.commit()  # the transaction is over: this only ends the session's


@event.listens_for(Session, "before_commit")
def _run_at_commit(session: Session) -> None:
    """A commit outside `commit()` (tests, CLI helpers) still runs what was kept for it."""
    if session.in_nested_transaction():
        return  # a SAVEPOINT's release (`part`): the outer COMMIT writes what is kept
    _write_gathered(session)
    for statement, params in session.info.pop(_AT_COMMIT, []):
        session.connection().execute(statement, params)


@event.listens_for(Session, "after_soft_rollback")
def _drop_at_commit(session: Session, previous_transaction: SessionTransaction) -> None:
    """Whatever was kept for the COMMIT goes with the transaction (a "soft" rollback too:
    one that had not yet sent anything to the database)."""
    if previous_transaction.nested:
        return  # hailong uses no savepoints; a savepoint's rollback keeps the rest
    session.info.pop(_GATHERED, None)
    session.info.pop(_AT_COMMIT, None)


def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a session; commit when the caller finishes cleanly, roll back otherwise."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            commit(session)
        except BaseException:
            session.rollback()
            raise


# The same unit of work for code outside a request (CLI, worker, tests).
transaction = contextmanager(session_scope)

# A transaction lost a race on a unique constraint: PostgreSQL's unique_violation, and
# SQLite's words for it.
_UNIQUE_SQLSTATE = "23505"


def is_unique_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == _UNIQUE_SQLSTATE or "UNIQUE constraint failed" in str(exc.orig)


def in_transaction(
    engine: Engine,
    work: Callable[[Session], T],
    *,
    unique_retries: int = 1,
    serialize: AbstractContextManager[object] | None = None,
) -> T:
    """`work(session)` in one transaction, redone when it fails on a unique constraint, and
    once when its connection turns out broken before its COMMIT (`redone_if_lost`).

    Work that looks before it inserts ("is this petition code known?") can lose to a
    concurrent transaction that inserted the same key after the look: on PostgreSQL the
    INSERT, or the COMMIT, fails. Done again, the look sees the other's row and the work
    takes its update (or its refusal) path; a random code that collided draws another.
    A unit of work's writes are its transaction's, so redoing it writes nothing twice.
    """

    def attempt() -> T:
        with serialize or nullcontext(), transaction(engine) as session:
            return work(session)

    for attempt_number in range(unique_retries + 1):
        try:
            return redone_if_lost(attempt)
        except IntegrityError as exc:
            if attempt_number == unique_retries or not is_unique_violation(exc):
                raise
    raise AssertionError("unreachable")


def redone_if_lost(attempt: Callable[[], T]) -> T:
    """`attempt()`, a transaction of its own, run once more when its connection turned out
    broken before its COMMIT was sent, or when the database chose it as a deadlock's (or a
    serialization failure's) victim. After a database restart every pooled connection is
    broken, and each request that drew one got a 500 (audit); a petition import and a bulk
    import's chunk locking the same dossiers in other orders deadlocked (review). Either way
    the failed attempt stored nothing (a deadlock's victim is rolled back), and SQLAlchemy
    has meanwhile discarded the pool's connections of before a break: the redo connects
    afresh.

    Not redone when the COMMIT itself failed on a lost connection (or what went out with
    it, `commit`): whether it was stored is then unknown, and a redo could store twice what
    is not conditional (an API key, a webhook subscription) or tell a citizen whose answer
    was stored that the survey is already answered. That error reaches the client as a 503
    (web/errors.py); sent again, an answer with its client_submission_id hears 200, a
    handover 200 with the same invitation. Losing the connection exactly during the COMMIT
    is rare; a restart's stale connections fail at the first statement."""
    try:
        return attempt()
    except DBAPIError as exc:
        if not (lost_before_commit(exc) or lost_a_race(exc)):
            raise
        log.warning("a unit of work is redone once after: %s", type(exc.orig).__name__)
    return attempt()


def lost_before_commit(exc: DBAPIError) -> bool:
    """Whether the connection broke under a statement of the transaction, before its COMMIT
    went out. A statement's error names it; the COMMIT's (SQLAlchemy's own, or the pipeline's
    in `commit`, which carries the COMMIT) names none."""
    return exc.connection_invalidated and exc.statement is not None


# SQLSTATEs of a transaction PostgreSQL rolled back to let another through: a deadlock's
# victim, a serialization failure. Sent again, it goes through.
RACE_SQLSTATES = ("40P01", "40001")
# A connection that failed or was closed by the server (class 08; an administrator's or a
# crash's shutdown, a server still starting).
UNREACHABLE_SQLSTATES = ("57P01", "57P02", "57P03")
# A lock another transaction held past the server's lock_timeout (55P03), a statement
# stopped by its statement_timeout or an administrator's cancel (57014): PostgreSQL's
# "busy". The lock is another writer's for a moment (a dossier's re-post, an import's
# chunk), and an answer was a 500 whose error page lost what the citizen typed (audit).
BUSY_SQLSTATES = ("55P03", "57014")
# SQLite's "busy": the file's write lock held by another writer (`hailong import`, a
# recompute) past the busy timeout. It was told as a database that cannot be reached.
SQLITE_BUSY = "database is locked"
# SQLite's words for a file that cannot be opened or read (a full or unmounted disk).
SQLITE_UNREACHABLE = ("unable to open database file", "disk I/O error")


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(getattr(exc, "orig", exc), "sqlstate", None)
    return state if isinstance(state, str) else None


def lost_a_race(exc: BaseException) -> bool:
    """Whether PostgreSQL rolled the transaction back for another's sake (RACE_SQLSTATES)."""
    return _sqlstate(exc) in RACE_SQLSTATES


def busy(exc: DBAPIError) -> bool:
    """Whether the database stopped the statement at one of its timeouts: PostgreSQL's lock
    or statement timeout (BUSY_SQLSTATES), SQLite's busy timeout (SQLITE_BUSY)."""
    if isinstance(exc.orig, sqlite3.OperationalError):
        return SQLITE_BUSY in str(exc.orig)
    return _sqlstate(exc) in BUSY_SQLSTATES


def unreachable(exc: DBAPIError) -> bool:
    """Whether the database could not be reached or kept: a connection lost, refused or shut
    down (PostgreSQL), the file not to be opened or read (SQLite).
    Not a statement it refused (a syntax error, no such table) nor one it stopped (`busy`):
    the first are the service's own errors, and no retry mends them."""
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, PsycopgError):
        state = _sqlstate(orig)
        if state is None:  # the driver's own: a connection lost or refused, or a refusal
            return isinstance(orig, PsycopgOperationalError | PsycopgInterfaceError)
        return state.startswith("08") or state in UNREACHABLE_SQLSTATES
    return isinstance(orig, sqlite3.OperationalError) and any(
        words in str(orig) for words in SQLITE_UNREACHABLE
    )


def analyze(engine: Engine, models: Sequence[Any]) -> None:
    """Refresh the planner's statistics of these tables now, after a bulk write. Until
    autovacuum gets to them (a minute or more), PostgreSQL plans with the sizes of before:
    on young tables that chose a scan by agency over the (agency, code) index
    (bench/README.md, "Handovers' first round"). SQLite keeps none until asked."""
    with engine.begin() as connection:
        for model in models:
            connection.exec_driver_sql(f"ANALYZE {model.__tablename__}")


def exclusive(session: Session, key: int, table: str) -> None:
    """Until this transaction ends, no other does the work that advisory lock `key` names
    (on PostgreSQL; one that does is waited for here), and what it reads next is the latest
    committed. SQLite has one writer: its write lock is taken now, by a write to `table`
    that changes nothing (its Python driver would begin the transaction only at the first
    write, so that what was read before it could be stale by then)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        session.execute(text(_sqlite_write_lock(table)))


def shared(session: Session, key: int, table: str) -> None:
    """Until this transaction ends, no other does the work that `exclusive(key)` guards
    (on PostgreSQL; one doing it is waited for here, and what is read next is the latest
    committed), while any number hold it shared. SQLite has one writer, whose lock is taken
    now as `exclusive` takes it: read before the transaction's first write, what followed
    was read outside any transaction, and a change committed in between was missed
    (review: a day off set by the CLI during a late handover)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": key})
    else:
        session.execute(text(_sqlite_write_lock(table)))


def alone(session: Session, key: int) -> bool:
    """Whether this transaction is the only one doing the work that advisory lock `key`
    names, until it ends: on PostgreSQL a try-lock, so a second process skips rather than
    waits. Elsewhere always (SQLite has one writer anyway)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    taken = session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key})
    return bool(taken.scalar())


def rowcount(result: Any) -> int:
    """The rows an UPDATE or DELETE touched (a Result's type does not say it counts them)."""
    return int(result.rowcount)
