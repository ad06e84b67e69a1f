"""Slowing down guessing, per client address or per kiosk tablet: survey tokens and short
codes, petition follow-up links, kiosk pairing and survey codes, console sign-in keys. A
module of its own, below the domains: every one of them calls `guarded`, and inside its
unit of work `Guess.look`.

Wrong attempts are counted per fixed window in guess_throttle, which every process shares.
A lookup takes one of two paths, chosen by a note this process keeps per (who, window):

Who: the client address, or for a code typed at a paired kiosk tablet, that tablet's
device key (one per pairing; stored only as an HMAC, as addresses are), so that a child at
one tablet locks neither the office's other tablets nor its address.

- **Quiet** (no failure of this address seen here in this window): nothing is written
  before the lookup. The request's own transaction reads the count (one SELECT on the
  connection it already holds), and the lookup runs only if the count is 0; otherwise the
  unit of work is dropped before the lookup, the note says "failed", and it runs again on
  the guarded path. The survey lookup, on the path of every answer, reads the count in its
  own statement instead (`Guess.look_counting`): what it found is dropped unseen when the
  count is not 0, the same as not looking. At most `guess_limit` quiet lookups of one
  address run at once in a process; more wait, in memory, for one to end, first come
  first served (`notes.py`). A wrong guess is counted (+1) after the request's unit of work
  has given its connection back. This is the path of nearly every answer: a right code
  writes nothing.
- **Guarded** (this address failed here in this window, or the quiet path found a count):
  before the unit of work takes a connection, one statement in its own short transaction
  reserves an attempt, atomically: `INSERT ... ON CONFLICT DO UPDATE SET failures =
  failures + 1 WHERE failures < room RETURNING failures`, where room is the limit less the
  quiet lookups of this address still running here. Nothing returned: 429, no lookup,
  nothing written (a link's whole token, which cannot be guessed, is looked up all the
  same, nothing counted, and only a miss is refused: `guarded(unguessable=True)`). A right
  code gives its reservation back afterwards (-1); a wrong one keeps it. So the count is
  always the failures plus the reservations in flight.

No request holds a pooled connection while it waits for another: the throttle writes
before or after the request's unit of work, never inside it. Those writes do not wait for
the WAL flush on PostgreSQL (a count lost in a crash is harmless).

**The bound**, per address (or tablet) and window, on lookups that find nothing:
- One process, any concurrency: at most `guess_limit`. Quiet lookups start only while
  this process has seen no failure, each reads a count of 0, at most `guess_limit` run at
  once, and every guarded reservation leaves room for the quiet ones still running.
- P processes: at most `guess_limit` plus the quiet lookups that other processes had
  already started, on a count of 0, when the first failure of the window was counted:
  at most `(P - 1) * guess_limit` more (P times the limit in all), and only for a burst
  that reaches several processes within the same few milliseconds at the start of a
  window. Attempts that do not overlap in time are limited exactly, across processes:
  the quiet path's read sees every count. (Reading nothing at all on the quiet path would
  let every process that has not seen the address yet look up one more code past the
  limit, each window, for ever.)
- Windows are fixed: a burst across a window's end may get twice the limit.
The price, paid only by an address that has guessed: on the guarded path, a right code
holds a reservation while its request runs, so near the limit a right code may be refused
while wrong ones from the same address are in flight.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, TypeVar, cast

import anyio.to_thread
from sqlalchemy import Connection, Engine, ScalarSelect, Select, bindparam, select, text
from sqlmodel import Session

from service import db
from service.errors import ServiceError
from service.models import GuessThrottle
from service.settings import Settings
from service.throttle.notes import Key, Notes

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger("hailong.throttle")


class TooManyGuesses(ServiceError):
    status_code = 429
    code = "rate_limited"


class _CountNotZero(Exception):
    """The quiet path found failures counted by another process: take the guarded one."""


# Per process by nature (the note is what spares the database); it holds no settings.
_notes = Notes()


class Guess:
    """One guarded lookup, handed to the unit of work: `look` runs the lookup."""

    def __init__(self, key: Key, quiet: bool) -> None:
        self._key = key
        self._quiet = quiet
        self.missed = False

    def look(
        self,
        session: Session,
        find: Callable[[], R],
        misses: tuple[type[Exception], ...] = (),
    ) -> R:
        """`find()`, run only once the count is read and found 0 (quiet path); it missed
        when it returned None or raised one of `misses`."""

        def counted_then_found(params: dict[str, Any]) -> tuple[int | None, R | None]:
            if self._quiet:
                # On the session's connection, not through Session.execute: this read
                # comes with every page, and the ORM's execution path cost more than it.
                failures = session.connection().execute(_count_statement(), params).scalar()
                if failures:
                    return failures, None  # not looked up
            try:
                return None, find()
            except misses:
                self.missed = True
                raise

        # What comes back is find()'s own value: a count not 0 raises (look_counting).
        return cast(R, self.look_counting(counted_then_found))

    def look_counting(
        self, find: Callable[[dict[str, Any]], tuple[int | None, R | None]]
    ) -> R | None:
        """`look` for a lookup that reads the count in its own statement, one round trip
        fewer on the path of every answer: `find(params)` runs a statement that binds
        `params` and selects `failures_column()` beside what it looks for, on a row it
        returns even when nothing is found, and gives back (failures, found or None)."""
        key = self._key
        # On the guarded path the count is not read: a key no row has.
        params = {
            "throttle_client": key.client_hash if self._quiet else "",
            "throttle_window": key.window_start,
        }
        failures, found = find(params)
        if self._quiet and failures:
            raise _CountNotZero  # what was found is dropped unseen
        if found is None:
            self.missed = True
        return found


@lru_cache(maxsize=1)
def failures_column() -> ScalarSelect[int]:
    """The count the quiet path reads, as a column of the lookup's own statement
    (`Guess.look_counting`) or alone (`Guess.look`): NULL when nothing is counted."""
    table = GuessThrottle.__table__  # type: ignore[attr-defined]
    return (
        select(table.c.failures)
        .where(
            table.c.client_hash == bindparam("throttle_client"),
            table.c.window_start == bindparam("throttle_window"),
        )
        .scalar_subquery()
    )


async def guarded(
    engine: Engine,
    settings: Settings,
    address: str,
    run: Callable[[Callable[[Session], T]], Awaitable[T]],
    work: Callable[[Session, Guess], T],
    unguessable: bool = False,
) -> T:
    """`work` in a unit of work (`run`: `UnitOfWork.run` or `.write`), its `guess.look`
    throttled for `address`: 429 (TooManyGuesses) without a lookup when over the limit.

    `unguessable`: what is looked up is a link's whole token (256 random bits), which no
    count of attempts brings within reach. Over the limit it is looked up all the same, and
    only a miss is refused: citizens behind one address (a mobile carrier's NAT, an
    office's Wi-Fi) lost their valid links to 429 for the window after twenty wrong codes
    among them (ops walkthrough). Short codes and the other guessable codes stay refused
    before any lookup."""
    now = int(time.time())
    start = now - now % settings.guess_window_seconds
    retry_after = start + settings.guess_window_seconds - now
    key = Key(_client_hash(settings, address), start, id(engine))
    entered = _notes.enter(key, settings.guess_limit)
    # As many quiet lookups running as the limit: wait for one to end.
    path = entered if isinstance(entered, str) else await _notes.wait(key, entered)
    if path == "quiet":
        guess = Guess(key, quiet=True)
        try:
            return await run(lambda session: work(session, guess))
        except _CountNotZero:
            _notes.failed(key)  # another process saw failures: guarded from now on
        finally:
            try:
                if guess.missed:  # counted before the note lets others take the quiet path
                    await _after_the_work(_count_failure, engine, key)
            finally:
                _notes.leave_quiet(key, guess.missed)
    # Quiet lookups still running here may fail too: they take room. (Those that end in
    # between are counted twice: on the safe side.)
    room = settings.guess_limit - _notes.quiet_running(key)
    if room < 1 or not await _own_transaction(_reserve, engine, key, room):
        too_many = TooManyGuesses(
            f"Too many wrong codes. Try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )
        if not unguessable:
            raise too_many
        return await _past_the_limit(run, work, key, too_many)
    guess = Guess(key, quiet=False)
    try:
        return await run(lambda session: work(session, guess))
    finally:
        if guess.missed:
            _notes.failed(key)
        else:
            await _after_the_work(_give_back, engine, key)


async def _past_the_limit(
    run: Callable[[Callable[[Session], T]], Awaitable[T]],
    work: Callable[[Session, Guess], T],
    key: Key,
    too_many: TooManyGuesses,
) -> T:
    """An unguessable token over the limit: looked up, nothing counted; a miss is the 429
    it would have been without the lookup, whatever the work made of it (a 404 raised, or a
    page returned)."""
    guess = Guess(key, quiet=False)
    try:
        found = await run(lambda session: work(session, guess))
    except Exception:
        if guess.missed:
            raise too_many from None
        raise
    if guess.missed:
        raise too_many
    return found


async def _own_transaction(write: Callable[..., R], engine: Engine, *args: Any) -> R:
    """`write(engine, *args)`, a throttle write in a transaction of its own, in a worker
    thread; redone once on a connection found broken before it committed (a database
    restart: db.redone_if_lost), as the unit of work is."""
    return await anyio.to_thread.run_sync(db.redone_if_lost, lambda: write(engine, *args))


async def _after_the_work(write: Callable[[Engine, Key], None], engine: Engine, key: Key) -> None:
    """Counting done once the request's unit of work has ended, perhaps committed: its
    failure must not replace the request's outcome. A stored answer was reported as a 500,
    and sent again heard 409 already answered (audit). What is left unwritten errs on the
    safe side, for this window only: a reservation not given back counts as a failure; a
    failure not counted leaves this process's note at "failed", so its next lookups still
    reserve first."""
    try:
        await _own_transaction(write, engine, key)
    except Exception:
        log.warning(
            "guess throttle: %s failed after the request's work", write.__name__, exc_info=True
        )


@lru_cache(maxsize=1)
def _count_statement() -> Select[Any]:
    """The count alone, for a lookup that cannot read it in its own statement."""
    return select(failures_column())


def _client_hash(settings: Settings, address: str) -> str:
    return _keyed_hash(settings.signing_key(), address)


# Every request of a survey page or answer hashes its address: the same few (a portal's
# server, an office's NAT) come again and again, and the HMAC was ~2 % of the answer
# path's interpreter time under load (py-spy). The guesser is found here, cached with it.
@lru_cache(maxsize=4096)
def _keyed_hash(key: bytes, address: str) -> str:
    return hmac.new(key, guesser(address).encode(), hashlib.sha256).hexdigest()


# A subscriber is given at least a /64 of IPv6, whose addresses (privacy addresses rotate
# by themselves) a guesser may change at every request: counted per address, each had a
# fresh limit (audit). An IPv4 address is one guesser, as it was.
IPV6_GUESSER_PREFIX = 64


def guesser(address: str) -> str:
    """Who is counted for `address`: an IPv6 client by its /64, an IPv4 one sent as IPv6
    (::ffff:a.b.c.d) as that IPv4 address; anything else (IPv4, a tablet's "kiosk:" key)
    as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_GUESSER_PREFIX}", strict=False))
    return address


def _quick(connection: Connection) -> None:
    # A count lost in a crash costs nothing; waiting for the WAL flush while holding the
    # address's row would queue every guess behind it.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL synchronous_commit = off"))


def _reserve(engine: Engine, key: Key, room: int) -> bool:
    """Count one attempt if fewer than `room` are counted; refused, nothing is written."""
    with engine.begin() as connection:
        _quick(connection)
        counted = connection.execute(
            text(
                "INSERT INTO guess_throttle (client_hash, window_start, failures) "
                "VALUES (:c, :w, 1) ON CONFLICT (client_hash, window_start) "
                "DO UPDATE SET failures = guess_throttle.failures + 1 "
                "WHERE guess_throttle.failures < :room RETURNING failures"
            ),
            {"c": key.client_hash, "w": key.window_start, "room": room},
        ).scalar()
    return counted is not None


def _count_failure(engine: Engine, key: Key) -> None:
    with engine.begin() as connection:
        _quick(connection)
        # Old windows are useless: drop them on the way, so the table stays tiny.
        connection.execute(
            text("DELETE FROM guess_throttle WHERE window_start < :w"), {"w": key.window_start}
        )
        connection.execute(
            text(
                "INSERT INTO guess_throttle (client_hash, window_start, failures) "
                "VALUES (:c, :w, 1) ON CONFLICT (client_hash, window_start) "
                "DO UPDATE SET failures = guess_throttle.failures + 1"
            ),
            {"c": key.client_hash, "w": key.window_start},
        )


def _give_back(engine: Engine, key: Key) -> None:
    with engine.begin() as connection:
        _quick(connection)
        connection.execute(
            text(
                "UPDATE guess_throttle SET failures = failures - 1 "
                "WHERE client_hash = :c AND window_start = :w"
            ),
            {"c": key.client_hash, "w": key.window_start},
        )
