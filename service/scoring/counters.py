"""Writing the day counters: live deltas in the event's transaction, and full rebuilds."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from service.models import (
    COUNT_COLUMNS,
    AgencyDayCounter,
    Dossier,
    Invitation,
    Petition,
    Response,
    StaffDayCounter,
)
from service.scoring.contributions import Delta, dossier_delta, petition_delta, response_delta
from service.scoring.profile import Profile

BATCH = 5000


def _upsert(
    session: Session, model: Any, key_column: str, rows: dict[tuple[int, date], Counter[str]]
) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    # Sorted keys: concurrent transactions lock counter rows in one order, so no deadlock.
    values = [
        {key_column: owner, "day": day, **{c: counts.get(c, 0) for c in COUNT_COLUMNS}}
        for (owner, day), counts in sorted(rows.items())
    ]
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[key_column, "day"],
        set_={c: table.c[c] + statement.excluded[c] for c in COUNT_COLUMNS},
    )
    session.execute(statement, values)


def apply(session: Session, delta: Delta) -> None:
    delta = delta.compact()
    _upsert(session, AgencyDayCounter, "agency_id", delta.agency)
    _upsert(session, StaffDayCounter, "staff_id", delta.staff)


def full_delta(session: Session, profile: Profile) -> Delta:
    """Everything the raw rows add up to, read in batches."""
    total = Delta()
    for dossier in session.scalars(select(Dossier).execution_options(yield_per=BATCH)):
        total.add(dossier_delta(dossier, profile))
    session.expunge_all()
    rows = session.execute(
        select(Response, Dossier)
        .join(Invitation, Invitation.id == Response.invitation_id)  # type: ignore[arg-type]
        .join(Dossier, Dossier.id == Invitation.dossier_id)  # type: ignore[arg-type]
        .execution_options(yield_per=BATCH)
    )
    for response, dossier in rows:
        total.add(response_delta(response, dossier, profile))
    session.expunge_all()
    for petition in session.scalars(select(Petition).execution_options(yield_per=BATCH)):
        total.add(petition_delta(petition))
    session.expunge_all()
    return total.compact()


def rebuild(session: Session, profile: Profile) -> Delta:
    """Throw the counters away and rebuild them from dossiers, responses and petitions."""
    total = full_delta(session, profile)
    session.execute(delete(AgencyDayCounter))
    session.execute(delete(StaffDayCounter))
    for model, key, rows in (
        (AgencyDayCounter, "agency_id", total.agency),
        (StaffDayCounter, "staff_id", total.staff),
    ):
        items = sorted(rows.items())
        for start in range(0, len(items), BATCH):
            _upsert(session, model, key, dict(items[start : start + BATCH]))
    return total
