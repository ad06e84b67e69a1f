"""Writing the day counters: signed deltas, upserted in the event's transaction."""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import lru_cache
from typing import Any

from sqlmodel import Session

from service import db
from service.models import COUNT_COLUMNS, AgencyDayCounter, StaffDayCounter
from service.scoring.contributions import Delta
from service.webhooks import outbox


@lru_cache(maxsize=8)
def _upsert(dialect: str, model: Any, key_column: str) -> Any:
    """Built once per database kind: constructing ON CONFLICT ... excluded costs more than
    running it."""
    table = model.__table__
    statement = db.dialect_insert(dialect, table)
    # inline(): no RETURNING of the new row's id, which nobody reads (and which a
    # statement sent in a pipeline with the COMMIT could not wait for).
    return statement.on_conflict_do_update(
        index_elements=[key_column, "day"],
        set_={c: table.c[c] + statement.excluded[c] for c in COUNT_COLUMNS},
    ).inline()


def rows_of(key_column: str, rows: dict[tuple[int, date], Counter[str]]) -> list[dict[str, Any]]:
    """The counter rows to upsert. Sorted by key: concurrent transactions lock counter rows
    in one order, so that they cannot deadlock."""
    return [
        {key_column: owner, "day": day, **{c: counts.get(c, 0) for c in COUNT_COLUMNS}}
        for (owner, day), counts in sorted(rows.items())
    ]


def upsert(
    session: Session, model: Any, key_column: str, rows: dict[tuple[int, date], Counter[str]]
) -> None:
    """Add `rows` to the counters with the transaction's COMMIT (db.at_commit)."""
    if not rows:
        return
    statement = _upsert(session.get_bind().dialect.name, model, key_column)
    db.at_commit(session, statement, rows_of(key_column, rows))


_GATHERED = "counters"  # the transaction's summed Delta, under db.gathered


def apply(session: Session, delta: Delta) -> None:
    """Add `delta` to the counters and mark the scores it moves as changed, at COMMIT.

    A transaction's changes are summed and written once, just before its COMMIT
    (`db.gathered`, `db.at_commit`): agency rows, staff rows, then score markers, each
    sorted. Every writer locks these rows in that one order, so concurrent transactions
    cannot deadlock on them, and the locks are held only for the COMMIT. (An answer moves
    two days, today's and the dossier's resolution day; applied as they came, an answer
    and a handover batch could each hold the day the other wanted next.) Nothing reads a
    counter back in the transaction that changed it.
    """
    db.gathered(session, _GATHERED, Delta, _write).add(delta)


def _write(session: Session, delta: Delta) -> None:
    delta = delta.compact()
    upsert(session, AgencyDayCounter, "agency_id", delta.agency)
    upsert(session, StaffDayCounter, "staff_id", delta.staff)
    outbox.mark_scores_dirty(session, delta.agency)
