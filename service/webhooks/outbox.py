"""Writing events in the transaction of the change they report."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, get_args

from sqlalchemy import insert
from sqlmodel import Session

from service import db
from service.models import OutboxEvent, utcnow
from service.score_markers import dirty_periods, mark_periods_dirty
from service.webhooks.schemas import EventType

# The events a subscriber can ask for, as the API lists them (schemas.EventType).
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
FAN_OUT_LOCK = 0x6861696C6F6E67  # "hailong": the advisory lock key of the fan-out step
HELD_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)  # "not due": a disabled subscription's


def serialize_fan_out(session: Session) -> None:
    """Until this transaction ends, no fan-out (service/delivery/fan_out.py) runs beside it,
    and what it reads next is the latest committed: on PostgreSQL an advisory lock, on
    SQLite the one write lock.

    One fan-out at a time: deliveries then get ids in event order, the order they are sent
    in (two side by side let the second batch of events overtake the first). Enabling a
    subscription takes it too: enabled between a fan-out's reading it disabled and its
    insert, it got deliveries held for ever (HELD_UNTIL), and its agency's later ones
    waited behind them (audit)."""
    db.exclusive(session, FAN_OUT_LOCK, OutboxEvent.__tablename__)


def new_msg_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def event_row(
    event_type: str, agency_id: int, data: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The same event as a row for a Core INSERT (a batch builds no ORM object)."""
    assert event_type in EVENT_TYPES
    return {
        "msg_id": new_msg_id(),
        "type": event_type,
        "agency_id": agency_id,
        "payload": data,
        "created_at": now,
        "dispatched_at": None,
    }


def emit(session: Session, event_type: str, agency_id: int, data: dict[str, Any]) -> None:
    emit_row(session, event_row(event_type, agency_id, data, utcnow()))


class _Events:
    """A transaction's events in the order they happened (db.gathered): an answer's
    response.submitted goes out before the petition its comment opened."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, other: _Events) -> None:
        self.rows.extend(other.rows)


def emit_row(session: Session, row: dict[str, Any]) -> None:
    """Write the event (event_row) with the transaction's COMMIT, with the transaction's
    other events in one statement: nothing reads it back before, and an ORM object and its
    flush cost more than the row (py-spy, answers)."""
    db.gathered(session, "hailong.outbox.events", _Events, _write_events).rows.append(row)


def _write_events(session: Session, events: _Events) -> None:
    db.at_commit(session, insert_event(), events.rows)


@lru_cache(maxsize=1)
def insert_event() -> Any:
    return insert(OutboxEvent.__table__).inline()  # type: ignore[attr-defined]


def mark_scores_dirty(session: Session, keys: Iterable[tuple[int, date]]) -> None:
    """score.updated is coalesced: one marker per agency and period until the worker runs.
    Written with the COMMIT, after the counters (counters.apply)."""
    mark_periods_dirty(session, dirty_periods(keys), at_commit=True)
