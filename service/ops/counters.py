"""The score counters under the running scoring profile: rebuilt at start when the profile
changed, rebuilt again in the background when that failed, and checked by /readyz."""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlmodel import col, select

from service.db import transaction
from service.migrations import current_revision, head_revision
from service.models import ScoringState
from service.profile import Profile
from service.scoring.rebuild import rebuild_if_profile_changed

logger = logging.getLogger("hailong.startup")

# Between two checks that the counters are built under this process's profile (one small
# read), or two tries of a rebuild that failed. On SQLite a try itself waits out the write
# lock's busy_timeout (10 s) when an import or a recompute holds it.
CHECK_SECONDS = 10.0


def counters_profile(connection: Connection) -> str | None:
    """The fingerprint of the profile the counters were built under (None: not yet)."""
    found = connection.execute(
        select(ScoringState.profile_fingerprint).where(col(ScoringState.id) == 1)
    ).scalar()
    return None if found is None else str(found)


def schema_at_head(engine: Engine) -> bool | None:
    """Whether the schema is at the latest migration; None when the database is out of
    reach (PostgreSQL restarting), so that whether it is cannot be told."""
    try:
        connection = engine.connect()
    except SQLAlchemyError:
        return None
    with connection:
        try:
            return current_revision(connection) == head_revision()
        except SQLAlchemyError:
            return False  # no alembic_version table: never upgraded


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


class CounterRebuild:
    """Counters built under another profile are rebuilt: before the first request, and
    whenever they are found so later.

    A start on a database not migrated yet has nothing to rebuild (/readyz says why). Any
    other failure (SQLite's write lock held past busy_timeout by an import or a recompute,
    PostgreSQL restarting) was swallowed as if it were that, and every score was served from
    the previous profile's counters while /readyz said "ready" (audit). And a full rebuild
    by the CLI (`hailong scores recompute`, an import's end) run under other settings than
    the server's (another HAILONG_SCORING_PROFILE_ALSO in the operator's shell) left the
    counters under its profile for good, /readyz 503 (review). So a thread checks every
    CHECK_SECONDS (one small read) and rebuilds when they name another profile; /readyz
    answers 503 meanwhile. Processes started under different profiles on one database would
    rebuild in turn: each such rebuild is logged.
    """

    def __init__(
        self,
        engine: Engine,
        profile: Profile,
        write_lock: AbstractContextManager[object] | None = None,
    ) -> None:
        self._engine = engine
        self._profile = profile
        # SQLite: the process's writers queue on it rather than on the file's lock.
        self._serialize: AbstractContextManager[object] = write_lock or nullcontext()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def at_start(self) -> None:
        """Rebuilds if the profile changed, then watches. Errors other than the database's
        (a bug) stop the start, as before."""
        try:
            self._rebuild()
        except (OperationalError, ProgrammingError) as exc:
            if schema_at_head(self._engine) is not False:
                logger.error(
                    "could not check or rebuild the score counters for scoring profile %s "
                    "(%s): /readyz answers 503 while they are built under another, and this is "
                    "tried again every %s s",
                    self._profile.name,
                    _one_line(exc),
                    CHECK_SECONDS,
                )
            # else not migrated yet: /readyz says so; checked again once it is
        self._thread = threading.Thread(
            target=self._watch, name="hailong-counter-rebuild", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 15) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _rebuild(self, actor: str = "startup") -> bool:
        """Whether it rebuilt: another process of the same start may have done it first,
        while this one waited for the lock."""
        with transaction(self._engine) as session:
            return rebuild_if_profile_changed(session, self._profile, actor)

    def _built_for_another(self) -> bool:
        with self._engine.connect() as connection:
            return counters_profile(connection) != self._profile.fingerprint()

    def _watch(self) -> None:
        while not self._stop.wait(CHECK_SECONDS):
            # Only on the schema the code expects: never half-way through a migration.
            if schema_at_head(self._engine) is not True:
                continue
            try:
                if not self._built_for_another():
                    continue
                with self._serialize:
                    # Not at a start: the audit log names the watcher as who rebuilt.
                    rebuilt = self._rebuild("counter-watch")
            except Exception as exc:  # a thread's error is lost otherwise: say it, go on
                logger.warning(
                    "score counters still not rebuilt for scoring profile %s (%s)",
                    self._profile.name,
                    _one_line(exc),
                )
                continue
            if not rebuilt:  # the other workers of a `serve --workers N` did it (review)
                continue
            logger.warning(
                "score counters rebuilt for scoring profile %s: they were built under another "
                "(a recompute or an import run with other settings?)",
                self._profile.name,
            )
