"""Writing the day counters: signed deltas, upserted in the event's transaction."""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from service.models import COUNT_COLUMNS, AgencyDayCounter, StaffDayCounter
from service.scoring.contributions import Delta
from service.webhooks import outbox


@lru_cache(maxsize=8)
def _upsert_statement(model: Any, key_column: str, dialect: str) -> Any:
    """Built once: constructing ON CONFLICT ... excluded costs more than running it."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[key_column, "day"],
        set_={c: table.c[c] + statement.excluded[c] for c in COUNT_COLUMNS},
    )


def upsert(
    session: Session, model: Any, key_column: str, rows: dict[tuple[int, date], Counter[str]]
) -> None:
    if not rows:
        return
    # Sorted keys: concurrent transactions lock counter rows in one order, so no deadlock.
    values = [
        {key_column: owner, "day": day, **{c: counts.get(c, 0) for c in COUNT_COLUMNS}}
        for (owner, day), counts in sorted(rows.items())
    ]
    statement = _upsert_statement(model, key_column, session.get_bind().dialect.name)
    session.execute(statement, values)


def apply(session: Session, delta: Delta) -> None:
    delta = delta.compact()
    upsert(session, AgencyDayCounter, "agency_id", delta.agency)
    upsert(session, StaffDayCounter, "staff_id", delta.staff)
    outbox.mark_scores_dirty(session, delta.agency)
