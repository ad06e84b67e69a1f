"""The markers of scores changed (table score_dirty): one per agency and period until the
delivery worker fans them out as score.updated (service/delivery/fan_out.py).

A module below the domains: the counters, the entered inputs and the agency tree (a move
changes the ranks of two families) all mark scores changed, and the agency tree is below
the webhooks package, which imports it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlmodel import Session

from service import db
from service.models import ScoreDirty, utcnow
from service.periods import periods_of


def dirty_rows(pairs: Iterable[tuple[int, str]], now: datetime) -> list[dict[str, Any]]:
    return [{"agency_id": a, "period": p, "marked_at": now} for a, p in pairs]


@lru_cache(maxsize=2)
def _dirty_statement(dialect: str) -> Any:
    return (
        db.dialect_insert(dialect, ScoreDirty.__table__)  # type: ignore[attr-defined]
        .on_conflict_do_nothing(index_elements=["agency_id", "period"])
        .inline()  # nothing to read back: it may go out with the COMMIT (db.at_commit)
    )


def mark_periods_dirty(
    session: Session, pairs: list[tuple[int, str]], at_commit: bool = False
) -> None:
    """Mark the (agency, period) pairs changed; a pair marked already stays as it is."""
    if not pairs:
        return
    statement = _dirty_statement(session.get_bind().dialect.name)
    rows = dirty_rows(pairs, utcnow())
    if at_commit:
        db.at_commit(session, statement, rows)
    else:
        session.execute(statement, rows)


def dirty_periods(keys: Iterable[tuple[int, date]]) -> list[tuple[int, str]]:
    """The (agency, period) pairs that counters of these agencies and days move, sorted."""
    return sorted({(agency_id, p.key) for agency_id, day in keys for p in periods_of(day)})
