"""The agency, dossier, staff and counter a handover names, looked up by their codes, and
the staff and counters registered the first time a handover names them (API.md)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, bindparam, literal
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from service.handovers.schemas import HandoverCreate
from service.models import Agency, Counter, Dossier, KioskPresentation, Staff, utcnow


@dataclass
class Known:
    """What one query tells about a handover: its agency, and the ids of the dossier, staff
    and counter it names (None: not there yet)."""

    agency: Agency
    dossier_id: int | None
    staff: dict[str, int]
    counter_id: int | None


def staff_codes(payload: HandoverCreate) -> list[str]:
    staff = payload.staff
    return sorted({c for c in (staff.receiving, staff.handling, staff.returning) if c})


@lru_cache(maxsize=8)
def _lookup_statement(staff_count: int, with_counter: bool) -> Any:
    """Built once per shape: building a SELECT and its cache key costs more than running it."""
    # A dossier code names a dossier of the agency it is posted for (codes are unique per
    # agency): another agency's dossier with the same code is never touched.
    dossier_id = select(Dossier.id).where(
        col(Dossier.agency_id) == col(Agency.id), Dossier.code == bindparam("dossier_code")
    )
    staff_ids = [
        select(Staff.id)
        .where(col(Staff.agency_id) == col(Agency.id), Staff.code == bindparam(f"staff_{i}"))
        .scalar_subquery()
        for i in range(staff_count)
    ]
    counter_id = (
        select(Counter.id)
        .where(col(Counter.agency_id) == col(Agency.id), Counter.code == bindparam("counter_code"))
        .scalar_subquery()
        if with_counter
        else literal(None, Integer)
    )
    return select(Agency, dossier_id.scalar_subquery(), counter_id, *staff_ids).where(
        Agency.code == bindparam("agency_code")
    )


def lookup(session: Session, payload: HandoverCreate) -> Known | None:
    """The agency (None if unknown) and the ids the handover refers to, in one round trip:
    correlated subqueries beside the agency row, so the usual handover of known staff at a
    known counter reads nothing else."""
    codes = staff_codes(payload)
    params: dict[str, Any] = {
        "agency_code": payload.agency_code,
        "dossier_code": payload.dossier_code,
        "counter_code": payload.counter_code,
    }
    params.update((f"staff_{i}", code) for i, code in enumerate(codes))
    statement = _lookup_statement(len(codes), payload.counter_code is not None)
    row = session.execute(statement, params).first()
    if row is None:
        return None
    agency, found_dossier, found_counter = row[0], row[1], row[2]
    found_staff: tuple[int | None, ...] = tuple(row[3:])
    staff = {code: id_ for code, id_ in zip(codes, found_staff, strict=True) if id_ is not None}
    return Known(agency, found_dossier, staff, found_counter)


def register_staff(
    session: Session, agency_id: int, known: dict[str, int], codes: list[str]
) -> dict[str, int]:
    """Unknown staff codes are registered under the agency (API.md). A concurrent handover
    registering the same code makes a unique violation, and the work is redone."""
    ids = dict(known)
    for code in codes:
        if code not in ids:
            staff = Staff(agency_id=agency_id, code=code)
            session.add(staff)
            session.flush()
            assert staff.id is not None
            ids[code] = staff.id
    return ids


def staff_ids(session: Session, agency_id: int, codes: list[str | None]) -> dict[str, int]:
    """Staff ids by code, registering unknown staff under the agency (API.md): one query
    for the usual case of known staff."""
    wanted = sorted({code for code in codes if code is not None})
    if not wanted:
        return {}
    found = session.exec(
        select(Staff).where(Staff.agency_id == agency_id, col(Staff.code).in_(wanted))
    ).all()
    known = {staff.code: staff.id for staff in found if staff.id is not None}
    return register_staff(session, agency_id, known, wanted)


def register_counter(session: Session, agency_id: int, code: str) -> int:
    counter = Counter(agency_id=agency_id, code=code)
    session.add(counter)
    session.flush()
    assert counter.id is not None
    return counter.id


def counter_id(session: Session, agency_id: int, code: str | None) -> int | None:
    """The counter's id by code, registering an unknown counter under the agency."""
    if code is None:
        return None
    counter = session.exec(
        select(Counter).where(Counter.agency_id == agency_id, Counter.code == code)
    ).first()
    if counter is None:
        return register_counter(session, agency_id, code)
    return counter.id


def record_presentation(session: Session, counter_id: int, invitation_id: int) -> None:
    """The survey was offered at this counter: its agency's tablets may store its answer
    (kiosk/presenting.find_for_answer). Once per counter and survey; a second lookup (a
    double tap) adds nothing."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(KioskPresentation)
        .values(counter_id=counter_id, invitation_id=invitation_id, presented_at=utcnow())
        .on_conflict_do_nothing(index_elements=["counter_id", "invitation_id"])
    )
    session.execute(statement)
