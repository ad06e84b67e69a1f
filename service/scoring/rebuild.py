"""Rebuilding every counter from the raw rows (`hailong scores recompute`).

The live path applies `contributions.py` row by row. A rebuild of millions of rows cannot
afford that, so it states the same rules as SQL; the property test in tests/scoring checks
that both agree with a plain reference implementation.

It is written for a province-year (5 million dossiers) on PostgreSQL:
- the dossiers' derived facts are re-derived in one pass that writes only the rows whose
  facts change (`IS DISTINCT FROM`): rewriting 5 million unchanged rows cost most of the
  old rebuild's time, in dead row versions and index entries;
- overdue working days are computed in SQL from a cumulative working-day index built in
  Python with the service's own calendar (service/calendar/working_days.py), so that
  "working days after the due date up to the resolution date" is idx(resolved) − idx(due);
- the counters are written by one `INSERT ... SELECT` per table, never through Python.
SQLite (the embedded mode, small data) shares the flags and the counters statements and
derives overdue days in Python, only for late dossiers, writing only the ones that change.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Date,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    delete,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import Grouping
from sqlmodel import Session, col

from service.calendar.overrides import load_overrides
from service.calendar.working_days import (
    LOCAL_TZ,
    is_working_day,
    local_date,
    overdue_working_days,
)
from service.models import (
    COUNT_COLUMNS,
    AgencyDayCounter,
    Dossier,
    Invitation,
    Petition,
    Response,
    ScoringState,
    StaffDayCounter,
    utcnow,
)
from service.scoring.aging import counted_in_group5
from service.scoring.periods import Period
from service.scoring.profile import Profile

BATCH = 5000
REBUILD_LOCK = 0x68616C2D72626C64  # the advisory lock key of "decide whether to rebuild"
# Hash joins and aggregates over millions of rows stay in memory (this transaction only).
REBUILD_WORK_MEM = "256MB"

DOSSIERS: Any = Dossier.__table__  # type: ignore[attr-defined]
RESPONSES: Any = Response.__table__  # type: ignore[attr-defined]
INVITATIONS: Any = Invitation.__table__  # type: ignore[attr-defined]
PETITIONS: Any = Petition.__table__  # type: ignore[attr-defined]


def _count(condition: ColumnElement[bool]) -> Any:
    # An integer, so that summing the branches stays in integers (PostgreSQL's sum of a
    # bigint is a numeric, slower and four times the memory).
    return cast(func.sum(case((condition, 1), else_=0)), Integer)


def _in_days(column: Any, period: Period | None) -> ColumnElement[bool]:
    return column.between(period.first_day, period.last_day) if period else true()


def _unsatisfied(profile: Profile) -> ColumnElement[bool]:
    """contributions.is_unsatisfied, in SQL."""
    rules, r = profile.survey, RESPONSES.c
    return or_(
        r.overall.in_(rules.unsatisfied_overall),
        and_(r.overall.is_(None), r.staff_attitude.in_(rules.unsatisfied_attitude)),
    )


# --- the dossiers' derived facts -------------------------------------------------------------


def working_day_index(first: date, last: date, overrides: dict[date, bool]) -> list[int]:
    """index[k] = working days in (first, first + k], for first + k up to `last`: the
    working days after day x up to day y are index[y - first] - index[x - first]."""
    index, total, day = [0], 0, first
    while day < last:
        day += timedelta(days=1)
        total += is_working_day(day, overrides)
        index.append(total)
    return index


def _late_span(session: Session, period: Period | None, is_late: Any) -> tuple[date, date] | None:
    """The local days that late dossiers' due and resolution times span."""
    d = DOSSIERS.c
    row = session.execute(
        select(func.min(d.due_at), func.max(d.resolved_at)).where(
            _in_days(d.resolved_day, period), is_late
        )
    ).one()
    if row[0] is None:
        return None
    due, resolved = local_date(row[0]), local_date(row[1])  # min/max keep UTCDateTime
    return due, max(due, resolved)


def _overdue_sql(is_late: Any, span: tuple[date, date], overrides: dict[date, bool]) -> Any:
    """Overdue working days of a dossier, in PostgreSQL: idx(local resolved) - idx(local due)
    over an array index of the span's days (one array, no join)."""
    first, last = span
    # Parenthesised: PostgreSQL subscripts `($1::integer[])[n]`, not `$1::integer[][n]`.
    index = Grouping(
        bindparam("working_day_index", working_day_index(first, last, overrides), ARRAY(Integer))
    )
    d = DOSSIERS.c

    def position(moment: Any) -> Any:  # 1-based position of the moment's local day
        local_day = cast(func.timezone(str(LOCAL_TZ), moment), Date)
        return local_day - bindparam("first_day", first, type_=Date) + 1

    days = index[position(d.resolved_at)] - index[position(d.due_at)]
    # Outside the span only for a dossier written meanwhile by the live path, which derived
    # its own facts: keep them.
    return case((is_late, func.coalesce(days, d.overdue_working_days)), else_=0)


def refresh_dossier_facts(session: Session, profile: Profile, period: Period | None) -> int:
    """Re-derive lateness (with today's calendar) and the group-5 flags of dossiers, writing
    only the dossiers whose facts change. Returns how many changed."""
    d = DOSSIERS.c
    is_late = and_(d.due_at.is_not(None), d.resolved_at > d.due_at)
    petitioned = select(PETITIONS.c.dossier_id).where(
        PETITIONS.c.dossier_id.is_not(None), counted_in_group5(profile)
    )
    unsatisfied = (
        select(INVITATIONS.c.dossier_id)
        .join(RESPONSES, RESPONSES.c.invitation_id == INVITATIONS.c.id)
        .where(_unsatisfied(profile))
    )
    facts: dict[str, Any] = {
        "is_late": is_late,
        "has_petition": d.id.in_(petitioned),
        "has_unsatisfied_evaluation": d.id.in_(unsatisfied),
    }
    overrides = load_overrides(session)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        span = _late_span(session, period, is_late)
        facts["overdue_working_days"] = (
            _overdue_sql(is_late, span, overrides) if span else literal(0)
        )
    changed = or_(*(d[name].is_distinct_from(value) for name, value in facts.items()))
    result = session.execute(
        update(DOSSIERS).where(_in_days(d.resolved_day, period), changed).values(**facts)
    )
    changes = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if not postgres:
        changes += _refresh_overdue_in_python(session, period, overrides)
    return changes


def _refresh_overdue_in_python(
    session: Session, period: Period | None, overrides: dict[date, bool]
) -> int:
    """SQLite: the late dossiers' overdue days with the live path's own function."""
    in_period = _in_days(col(Dossier.resolved_day), period)
    zeroed = session.execute(
        update(DOSSIERS)
        .where(in_period, not_(DOSSIERS.c.is_late), DOSSIERS.c.overdue_working_days != 0)
        .values(overdue_working_days=0)
    )
    late = session.execute(
        select(
            col(Dossier.id),
            col(Dossier.due_at),
            col(Dossier.resolved_at),
            col(Dossier.overdue_working_days),
        ).where(in_period, col(Dossier.is_late))
    ).all()
    changes = []
    for dossier_id, due_at, resolved_at, stored in late:
        days = overdue_working_days(due_at, resolved_at, overrides)
        if days != stored:
            changes.append({"dossier_id": dossier_id, "days": days})
    for start in range(0, len(changes), BATCH):
        session.execute(
            update(DOSSIERS)
            .where(DOSSIERS.c.id == bindparam("dossier_id"))
            .values(overdue_working_days=bindparam("days")),
            changes[start : start + BATCH],
        )
    return int(zeroed.rowcount or 0) + len(changes)  # type: ignore[attr-defined]


# --- the counters ------------------------------------------------------------------------------


def _branch(key: Any, day: Any, counts: dict[str, Any], source: Any) -> Any:
    """One source's counts per (key, day), with every counter column (0 where it adds none)."""
    columns = [key.label("owner"), day.label("day")]
    columns += [counts.get(name, literal(0)).label(name) for name in COUNT_COLUMNS]
    return source.add_columns(*columns).where(key.is_not(None)).group_by(key, day)


def _dossier_branch(profile: Profile, period: Period | None, key: Any, per_agency: bool) -> Any:
    """contributions.dossier_delta: the A buckets, and group 5 c for agencies."""
    rules, d = profile.k_score, DOSSIERS.c
    supplement_overdue = supplements_overdue_sql(profile)
    over = or_(
        and_(d.is_late, d.overdue_working_days > rules.late_zero_after_working_days),
        supplement_overdue,
    )
    counts = {
        "resolved": cast(func.count(), Integer),
        "a_on_time": _count(and_(not_(over), not_(d.is_late))),
        "a_late_grace": _count(and_(not_(over), d.is_late)),
        "a_late_over": _count(over),
    }
    if per_agency:  # group 5 is an agency's, not a person's
        counts["c_bad_dossiers"] = _count(
            or_(d.has_unsatisfied_evaluation, d.has_petition, d.is_late, supplement_overdue)
        )
    source = select().select_from(DOSSIERS).where(_in_days(d.resolved_day, period))
    return _branch(key, d.resolved_day, counts, source)


def supplements_overdue_sql(profile: Profile) -> Any:
    """contributions.supplements_overdue, in SQL (the console lists by it too)."""
    threshold = profile.supplements_overdue_from()
    column = DOSSIERS.c.supplement_requests
    return column >= threshold if threshold is not None else false()


def _b_point(profile: Profile) -> ColumnElement[bool]:
    """contributions.b_point: an answer that earns B's point (an answer the questionnaire
    does not offer earns none)."""
    condition: ColumnElement[bool] = RESPONSES.c.supplement_requests.in_(profile.b_point_answers())
    return condition


def _response_branch(profile: Profile, period: Period | None, key: Any, source: Any) -> Any:
    r = RESPONSES.c
    counts = {
        "evaluations": cast(func.count(), Integer),
        "b_answered": _count(r.supplement_requests.is_not(None)),
        "b_points": _count(_b_point(profile)),
        "c_answered": _count(r.staff_attitude.is_not(None)),
        "c_points": _count(r.staff_attitude.in_(profile.survey.good_attitude)),
    }
    return _branch(key, r.received_day, counts, source.where(_in_days(r.received_day, period)))


def _petition_branch(profile: Profile, period: Period | None) -> Any:
    """contributions.petition_delta: open petitions apart, their aging read with the score."""
    p = PETITIONS.c
    handled = p.handled_at.is_not(None)
    on_time = and_(handled, or_(p.deadline_at.is_(None), p.handled_at <= p.deadline_at))
    late = and_(handled, p.deadline_at.is_not(None), p.handled_at > p.deadline_at)
    in_authority = p.within_authority.is_(True)
    counts = {
        "petitions": cast(func.count(), Integer),
        "petitions_in_authority": _count(in_authority),
        "petitions_in_authority_on_time": _count(and_(in_authority, on_time)),
        "petitions_bad": _count(
            and_(
                handled,
                or_(p.citizen_verdict == "unsatisfied", p.result_complaint.is_(True), late),
            )
        ),
        "petitions_open": _count(not_(handled)),
        "petitions_open_in_authority": _count(and_(not_(handled), in_authority)),
    }
    source = (
        select()
        .select_from(PETITIONS)
        .where(_in_days(p.received_day, period), counted_in_group5(profile))
    )
    return _branch(p.agency_id, p.received_day, counts, source)


def _agency_rows(profile: Profile, period: Period | None) -> list[Any]:
    return [
        _dossier_branch(profile, period, DOSSIERS.c.agency_id, per_agency=True),
        # An evaluation counts for the agency it names (it follows its dossier's).
        _response_branch(profile, period, RESPONSES.c.agency_id, select().select_from(RESPONSES)),
        _petition_branch(profile, period),
    ]


def _staff_rows(profile: Profile, period: Period | None) -> list[Any]:
    evaluated_by = DOSSIERS.c[f"{profile.staff.role_for_evaluations}_staff_id"]
    responses = select().select_from(
        RESPONSES.join(INVITATIONS, INVITATIONS.c.id == RESPONSES.c.invitation_id).join(
            DOSSIERS, DOSSIERS.c.id == INVITATIONS.c.dossier_id
        )
    )
    return [
        # Per-staff A: the dossiers the person handled.
        _dossier_branch(profile, period, DOSSIERS.c.handling_staff_id, per_agency=False),
        _response_branch(profile, period, evaluated_by, responses),
    ]


def _write_counters(
    session: Session, model: Any, key_column: str, branches: list[Any], period: Period | None
) -> int:
    """INSERT ... SELECT the branches' sums per (key, day). Rows a live write added meanwhile
    are added to, as counters.upsert would. Returns the period's rows."""
    table = model.__table__
    rows = union_all(*branches).subquery()
    query = (
        select(rows.c.owner, rows.c.day, *(func.sum(rows.c[c]) for c in COUNT_COLUMNS))
        .where(true())  # SQLite: INSERT ... SELECT ... ON CONFLICT needs a WHERE to parse
        .group_by(rows.c.owner, rows.c.day)
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).from_select([key_column, "day", *COUNT_COLUMNS], query)
    statement = statement.on_conflict_do_update(
        index_elements=[key_column, "day"],
        set_={c: table.c[c] + statement.excluded[c] for c in COUNT_COLUMNS},
    )
    session.execute(statement)
    # (The driver's rowcount of an INSERT ... SELECT is not to be relied on.)
    written = select(func.count()).select_from(table).where(_in_days(table.c.day, period))
    return int(session.execute(written).scalar_one())


def rebuild(session: Session, profile: Profile, period: Period | None = None) -> int:
    """Rebuild the counters (of one period's days, or all). Returns the counter rows written."""
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'"))
    refresh_dossier_facts(session, profile, period)
    for model in (AgencyDayCounter, StaffDayCounter):
        session.execute(delete(model).where(_in_days(col(model.day), period)))
    written = _write_counters(
        session, AgencyDayCounter, "agency_id", _agency_rows(profile, period), period
    )
    written += _write_counters(
        session, StaffDayCounter, "staff_id", _staff_rows(profile, period), period
    )
    if period is None:
        state = session.get(ScoringState, 1) or ScoringState(profile_fingerprint="")
        state.profile_fingerprint, state.rebuilt_at = profile.fingerprint(), utcnow()
        session.add(state)
    session.flush()
    return written


def rebuild_if_profile_changed(session: Session, profile: Profile) -> bool:
    """At start: counters built under another profile are rebuilt under this one.

    Several processes start at once (`serve --workers N`): on PostgreSQL an advisory lock
    lets one decide (and rebuild) while the others wait, then find nothing to do.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REBUILD_LOCK})
    state = session.get(ScoringState, 1)
    if state is not None and state.profile_fingerprint == profile.fingerprint():
        return False
    if state is None and session.execute(select(func.count()).select_from(Dossier)).scalar() == 0:
        session.add(ScoringState(profile_fingerprint=profile.fingerprint()))
        session.flush()
        return False
    rebuild(session, profile)
    return True
