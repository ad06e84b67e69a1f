"""The statements behind the evaluation and petition lists: one keyset chunk at a time
(`id > after`, ordered by id, `limit n`), so that no request ever reads every row at once
and each chunk is its own short read.

Core statements over the tables, not ORM objects: a million rows go through here per
export, and a row tuple costs a fraction of an entity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, null, select, true, tuple_
from sqlalchemy.sql import Select
from sqlmodel import Session

from service.models import Agency, Counter, ResponseContact, Staff, utcnow
from service.models.agency import path_within
from service.models.petition_dossier import of_the_tree, shown_code
from service.models.write_order import SETTLED_BELOW
from service.profile import Profile
from service.scoring.sql_rules import (
    DOSSIERS,
    INVITATIONS,
    PETITIONS,
    RESPONSES,
    counted_in_group5,
    petition_handled_late,
    petition_handled_on_time,
    petition_state_at,
    unsatisfied,
)

AGENCIES: Any = Agency.__table__  # type: ignore[attr-defined]
COUNTERS: Any = Counter.__table__  # type: ignore[attr-defined]
STAFF: Any = Staff.__table__  # type: ignore[attr-defined]
CONTACTS: Any = ResponseContact.__table__  # type: ignore[attr-defined]
STAFF_ROLES = ("receiving", "handling", "returning")


@dataclass(frozen=True)
class Selection:
    """Which rows, resolved once per request (the agency found, the scope applied)."""

    agency_id: int | None = None  # exactly this agency (subtree=false)
    path_prefix: str | None = None  # this agency and its descendants (a subtree or a scope)
    first_day: date | None = None  # the period, by the row's local day (as scores count it)
    last_day: date | None = None
    source: str | None = None
    staff_code: str | None = None
    staff_role: str = "returning"  # whose evaluations these are, as the profile says
    include_private: bool = False
    # Whether the rows name the dossier's staff (roles.MANAGERS): not to a reader.
    with_staff: bool = True
    # The key's own part of the tree (None: every agency), which `path_prefix` may narrow
    # for the rows chosen: what rows join from another agency is shown only within it.
    scope_path: str | None = None
    up_to_id: int | None = None  # rows written after an export began are not in it
    # A petition's state by its deadline as of this moment (the request's), for every chunk.
    as_of: datetime = field(default_factory=utcnow)


def dossier_within(d: Any, scope_path: str | None) -> ColumnElement[bool]:
    """SQL: dossier `d`'s agency lies within `scope_path` (always, for an unscoped key).

    A row of the key's own agency may name a dossier of an agency outside its scope: a
    petition of SA naming a dossier of its ward SA1, after the operator moved SA1 under SB
    (admin/agencies.py). The dossier's facts (its staff, counter, procedure, times) are
    then SB's data, and a key of SA reads none of them, even by reference."""
    if scope_path is None:
        return true()
    scoped = select(AGENCIES.c.id).where(path_within(AGENCIES.c.path, scope_path))
    within: ColumnElement[bool] = d.c.agency_id.in_(scoped.scalar_subquery())
    return within


def _dossier_columns(
    code: Any, d: Any, dossier_agency: Any, counter: Any, staff: list[Any], with_staff: bool
) -> list[Any]:
    return [
        code.label("dossier_code"),
        dossier_agency.c.code.label("dossier_agency_code"),
        d.c.procedure_code,
        d.c.procedure_name,
        d.c.received_at.label("dossier_received_at"),
        d.c.due_at,
        d.c.resolved_at,
        d.c.handed_over_at,
        d.c.is_late,
        d.c.overdue_working_days,
        d.c.supplement_requests.label("dossier_supplement_requests"),
        d.c.channel,
        counter.c.code.label("counter_code"),
        *(
            (s.c.code if with_staff else null()).label(f"{role}_staff_code")
            for role, s in zip(STAFF_ROLES, staff, strict=True)
        ),
    ]


def _join_dossier(from_: Any, d: Any, dossier_agency: Any, counter: Any, staff: list[Any]) -> Any:
    joined = from_.join(dossier_agency, dossier_agency.c.id == d.c.agency_id).outerjoin(
        counter, counter.c.id == d.c.counter_id
    )
    for role, s in zip(STAFF_ROLES, staff, strict=True):
        joined = joined.outerjoin(s, s.c.id == d.c[f"{role}_staff_id"])
    return joined


def _aliases() -> tuple[Any, Any, list[Any]]:
    return (
        AGENCIES.alias("dossier_agency"),
        COUNTERS.alias("counter"),
        [STAFF.alias(f"{role}_staff") for role in STAFF_ROLES],
    )


def _where_common(
    statement: Select[Any], id_col: Any, agency: Any, day: Any, source: Any, chosen: Selection
) -> Select[Any]:
    if chosen.agency_id is not None:
        statement = statement.where(agency.c.id == chosen.agency_id)
    if chosen.path_prefix is not None:
        statement = statement.where(path_within(agency.c.path, chosen.path_prefix))
    if chosen.first_day is not None and chosen.last_day is not None:
        statement = statement.where(day.between(chosen.first_day, chosen.last_day))
    if chosen.source is not None:
        statement = statement.where(source == chosen.source)
    if chosen.up_to_id is not None:
        statement = statement.where(id_col <= chosen.up_to_id)
    return statement


def evaluations_statement(chosen: Selection, profile: Profile, *columns: Any) -> Select[Any]:
    """The chosen evaluations with their dossiers' facts, by response id; `columns`
    instead of the full row (a count, a max id)."""
    r, i, d = RESPONSES, INVITATIONS, DOSSIERS
    agency = AGENCIES.alias("agency")
    dossier_agency, counter, staff = _aliases()
    full = not columns
    if full:
        columns = (
            r.c.id,
            r.c.received_at,
            r.c.received_day,
            agency.c.code.label("agency_code"),
            r.c.source,
            r.c.timeliness,
            r.c.supplement_requests,
            r.c.staff_attitude,
            r.c.overall,
            r.c.agencies_contacted,
            unsatisfied(profile).label("unsatisfied"),
            # The dossier is of the response's own agency (surveys/service.py, imports),
            # which the scope already limits: no `dossier_within` needed.
            *_dossier_columns(d.c.code, d, dossier_agency, counter, staff, chosen.with_staff),
        )
    joined = (
        r.join(agency, agency.c.id == r.c.agency_id)
        .join(i, i.c.id == r.c.invitation_id)
        .join(d, d.c.id == i.c.dossier_id)
    )
    if full or chosen.staff_code is not None:
        joined = _join_dossier(joined, d, dossier_agency, counter, staff)
    if full and chosen.include_private:
        joined = joined.outerjoin(CONTACTS, CONTACTS.c.response_id == r.c.id)
        columns = (*columns, r.c.complaint, CONTACTS.c.contact)
    statement = select(*columns).select_from(joined)
    statement = _where_common(statement, r.c.id, agency, r.c.received_day, r.c.source, chosen)
    if chosen.staff_code is not None:
        evaluated = staff[STAFF_ROLES.index(chosen.staff_role)]
        statement = statement.where(evaluated.c.code == chosen.staff_code)
    return statement


def petitions_statement(chosen: Selection, profile: Profile, *columns: Any) -> Select[Any]:
    """The chosen petitions with their dossiers (when they name one), by id, as every view
    of a petition shows its dossier (models/petition_dossier.py): only while the dossier is
    of the petition's agency's tree (a ward moved away took its dossiers along, and the
    department's key read their codes and facts; reviews). The code is the petition's own
    (its importer named it); the dossier's facts only where its agency lies within the
    key's scope too (`dossier_within`)."""
    p, d, named = PETITIONS, DOSSIERS, DOSSIERS.alias("named_dossier")
    agency, named_agency = AGENCIES.alias("agency"), AGENCIES.alias("named_agency")
    named_code = shown_code(named.c.code, named_agency.c.path, agency.c.path)
    dossier_agency, counter, staff = _aliases()
    full = not columns
    if full:
        columns = (
            p.c.id,
            p.c.code,
            agency.c.code.label("agency_code"),
            p.c.source,
            p.c.kind,
            counted_in_group5(profile).label("in_group5"),
            p.c.received_at,
            p.c.received_day,
            p.c.deadline_at,
            p.c.handled_at,
            petition_handled_on_time().label("handled_on_time"),
            petition_handled_late().label("handled_late"),
            petition_state_at(chosen.as_of).label("state"),
            p.c.within_authority,
            p.c.replied_at,
            p.c.citizen_verdict,
            p.c.verdict_at,
            p.c.result_complaint,
            *_dossier_columns(named_code, d, dossier_agency, counter, staff, chosen.with_staff),
        )
    joined = p.join(agency, agency.c.id == p.c.agency_id)
    if full:
        # A petition without a dossier keeps its row, with the dossier's columns empty; one
        # naming a dossier outside the key's scope keeps it too, with only the code.
        joined = joined.outerjoin(named, named.c.id == p.c.dossier_id)
        joined = joined.outerjoin(named_agency, named_agency.c.id == named.c.agency_id)
        shown = and_(
            d.c.id == p.c.dossier_id,
            dossier_within(d, chosen.scope_path),
            of_the_tree(named_agency.c.path, agency.c.path),
        )
        joined = joined.outerjoin(d, shown)
        joined = joined.outerjoin(dossier_agency, dossier_agency.c.id == d.c.agency_id)
        joined = joined.outerjoin(counter, counter.c.id == d.c.counter_id)
        for role, s in zip(STAFF_ROLES, staff, strict=True):
            joined = joined.outerjoin(s, s.c.id == d.c[f"{role}_staff_id"])
        if chosen.include_private:
            joined = joined.outerjoin(CONTACTS, CONTACTS.c.response_id == p.c.response_id)
            columns = (*columns, p.c.outcome, p.c.reply, CONTACTS.c.contact)
    statement = select(*columns).select_from(joined)
    return _where_common(statement, p.c.id, agency, p.c.received_day, p.c.source, chosen)


def chunk(
    session: Session, statement: Select[Any], id_col: Any, after: int | None, size: int
) -> Sequence[Row[Any]]:
    """Up to `size` rows with an id above `after`, by id."""
    if after is not None:
        statement = statement.where(id_col > after)
    return session.execute(statement.order_by(id_col).limit(size)).all()


def evaluation_chunk(
    session: Session, chosen: Selection, profile: Profile, after: int | None, size: int
) -> Sequence[Row[Any]]:
    return chunk(session, evaluations_statement(chosen, profile), RESPONSES.c.id, after, size)


def evaluation_page(
    session: Session, chosen: Selection, profile: Profile, after: int | None, size: int
) -> Sequence[Row[Any]]:
    """Up to `size` evaluations after the response `after`, by the transaction that stored
    each, then id (write_order.py): a page a reader follows across requests misses none and
    repeats none, where an id order skipped an answer committed after a later one. An
    export is one request, its rows bounded at its start, and reads by id
    (`evaluation_chunk`). `after` is the last response of the page before; one that does
    not exist (a cursor made up) goes on after the response before it."""
    r = RESPONSES
    statement = evaluations_statement(chosen, profile).where(r.c.write_xact < SETTLED_BELOW)
    if after is not None:
        written_by = select(r.c.write_xact).where(r.c.id <= after).order_by(r.c.id.desc()).limit(1)
        position = tuple_(func.coalesce(written_by.scalar_subquery(), 0), after)
        statement = statement.where(tuple_(r.c.write_xact, r.c.id) > position)
    ordered = statement.order_by(r.c.write_xact, r.c.id).limit(size)
    return session.execute(ordered).all()


def petition_chunk(
    session: Session, chosen: Selection, profile: Profile, after: int | None, size: int
) -> Sequence[Row[Any]]:
    return chunk(session, petitions_statement(chosen, profile), PETITIONS.c.id, after, size)


def highest_id(session: Session, table: Any) -> int:
    """The table's highest id now (0 when empty): an export's upper bound, one index probe."""
    return int(session.execute(select(func.max(table.c.id))).scalar_one() or 0)


def evaluation_count(session: Session, chosen: Selection, profile: Profile) -> int:
    return int(session.execute(evaluations_statement(chosen, profile, func.count())).scalar_one())


def petition_count(session: Session, chosen: Selection, profile: Profile) -> int:
    return int(session.execute(petitions_statement(chosen, profile, func.count())).scalar_one())
