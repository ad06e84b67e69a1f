"""What a rebuild changed, announced as `score.updated` like a live write's changes.

A rebuild (`hailong import`'s recompute, `hailong scores recompute`, a changed profile at
start) writes the counters by SQL, not through `counters.apply`, so it marked no score as
changed: portals kept the scores they had before an import (webhooks audit). The agency
counters of the rebuilt days are copied aside first; every agency and day whose row
differs afterwards (added, gone or changed: the counts are integers, so the comparison is
exact) marks its periods, and a rebuild that changed nothing announces nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import Column, MetaData, Select, Table, insert, select
from sqlmodel import Session

from service.models import AgencyDayCounter
from service.periods import Period
from service.scoring.sql_rules import in_days
from service.webhooks import outbox

_COUNTERS: Table = AgencyDayCounter.__table__  # type: ignore[attr-defined]
# The rows before, for the rebuild's transaction only (dropped when it ends on PostgreSQL,
# by `announced_changes` on SQLite, whose temporary tables last as long as the connection).
_BEFORE = Table(
    "rebuild_counters_before",
    MetaData(),
    *(Column(c.name, c.type) for c in _COUNTERS.c),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


def _rebuilt(period: Period | None) -> Select[Any]:
    return select(*_COUNTERS.c).where(in_days(_COUNTERS.c.day, period))


def _changed(session: Session, period: Period | None) -> set[tuple[int, date]]:
    before, after = select(*_BEFORE.c), _rebuilt(period)
    changed: set[tuple[int, date]] = set()
    for one, other in ((before, after), (after, before)):
        differing = one.except_(other).subquery()
        rows = session.execute(select(differing.c.agency_id, differing.c.day).distinct())
        changed.update((int(agency_id), day) for agency_id, day in rows)
    return changed


@contextmanager
def announced_changes(session: Session, period: Period | None) -> Iterator[None]:
    """Marks, with the rebuild's COMMIT, the scores the block's counter writes changed."""
    connection = session.connection()
    _BEFORE.drop(connection, checkfirst=True)  # a SQLite connection's earlier rebuild's
    _BEFORE.create(connection)
    session.execute(insert(_BEFORE).from_select([c.name for c in _COUNTERS.c], _rebuilt(period)))
    yield
    outbox.mark_scores_dirty(session, _changed(session, period))
    if session.get_bind().dialect.name != "postgresql":
        _BEFORE.drop(connection)
