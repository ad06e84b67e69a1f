"""Rebuilding every counter from the raw rows (`hailong scores recompute`).

The live path applies `contributions.py` row by row. A rebuild of millions of rows cannot
afford that, so it states the same rules as SQL aggregates; the property test in
tests/scoring checks that both agree with a plain reference implementation.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    true,
    update,
)
from sqlmodel import Session, col

from service.calendar.overrides import load_overrides
from service.calendar.working_days import overdue_working_days
from service.models import (
    AgencyDayCounter,
    Dossier,
    Invitation,
    Petition,
    Response,
    ScoringState,
    StaffDayCounter,
    utcnow,
)
from service.scoring.contributions import SUPPLEMENT_ANSWER_COUNT
from service.scoring.counters import upsert
from service.scoring.periods import Period
from service.scoring.profile import Profile

BATCH = 5000
REBUILD_LOCK = 0x68616C2D72626C64  # the advisory lock key of "decide whether to rebuild"


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _in_days(column: Any, period: Period | None) -> ColumnElement[bool]:
    return col(column).between(period.first_day, period.last_day) if period else true()


def _unsatisfied(profile: Profile) -> ColumnElement[bool]:
    rules = profile.survey
    return or_(
        col(Response.overall).in_(rules.unsatisfied_overall),
        and_(
            col(Response.overall).is_(None),
            col(Response.staff_attitude).in_(rules.unsatisfied_attitude),
        ),
    )


def refresh_dossier_facts(session: Session, profile: Profile, period: Period | None) -> int:
    """Re-derive lateness (with today's calendar) and the group-5 flags of dossiers."""
    in_period = _in_days(Dossier.resolved_day, period)
    session.execute(
        update(Dossier)
        .where(in_period)
        .values(
            is_late=and_(
                col(Dossier.due_at).is_not(None), col(Dossier.resolved_at) > col(Dossier.due_at)
            ),
            has_petition=exists().where(col(Petition.dossier_id) == col(Dossier.id)),
            has_unsatisfied_evaluation=exists().where(
                col(Invitation.dossier_id) == col(Dossier.id),
                col(Response.invitation_id) == col(Invitation.id),
                _unsatisfied(profile),
            ),
        )
    )
    session.execute(
        update(Dossier).where(in_period, not_(col(Dossier.is_late))).values(overdue_working_days=0)
    )
    overrides = load_overrides(session)
    late = session.execute(
        select(col(Dossier.id), col(Dossier.due_at), col(Dossier.resolved_at)).where(
            in_period, col(Dossier.is_late)
        )
    ).all()
    changes = [
        {"dossier_id": row[0], "days": overdue_working_days(row[1], row[2], overrides)}
        for row in late
    ]
    table: Any = Dossier.__table__  # type: ignore[attr-defined]
    for start in range(0, len(changes), BATCH):
        session.execute(
            update(table)
            .where(table.c.id == bindparam("dossier_id"))
            .values(overdue_working_days=bindparam("days")),
            changes[start : start + BATCH],
            execution_options={"synchronize_session": False},
        )
    return len(changes)


def _dossier_counts(
    profile: Profile, period: Period | None, key: Any, per_agency: bool = True
) -> Any:
    rules = profile.k_score
    supplement_overdue: ColumnElement[bool] = (
        col(Dossier.supplement_requests) >= 2 if rules.supplements_make_overdue else false()
    )
    over = or_(
        and_(
            col(Dossier.is_late),
            col(Dossier.overdue_working_days) > rules.late_zero_after_working_days,
        ),
        supplement_overdue,
    )
    return (
        select(
            key,
            col(Dossier.resolved_day),
            func.count().label("resolved"),
            _count(and_(not_(over), not_(col(Dossier.is_late)))).label("a_on_time"),
            _count(and_(not_(over), col(Dossier.is_late))).label("a_late_grace"),
            _count(over).label("a_late_over"),
            (
                _count(
                    or_(
                        col(Dossier.has_unsatisfied_evaluation),
                        col(Dossier.has_petition),
                        col(Dossier.is_late),
                        supplement_overdue,
                    )
                )
                if per_agency
                else literal(0)  # group 5 is an agency's, not a person's
            ).label("c_bad_dossiers"),
        )
        .where(_in_days(Dossier.resolved_day, period), key.is_not(None))
        .group_by(key, col(Dossier.resolved_day))
    )


def _response_counts(profile: Profile, period: Period | None, key: Any) -> Any:
    pointed = [
        answer
        for answer, times in SUPPLEMENT_ANSWER_COUNT.items()
        if times <= profile.k_score.max_supplement_requests_for_point
    ]
    return (
        select(
            key,
            col(Response.received_day),
            func.count().label("evaluations"),
            _count(col(Response.supplement_requests).is_not(None)).label("b_answered"),
            _count(col(Response.supplement_requests).in_(pointed)).label("b_points"),
            _count(col(Response.staff_attitude).is_not(None)).label("c_answered"),
            _count(col(Response.staff_attitude) == "good").label("c_points"),
        )
        .join(Invitation, col(Invitation.id) == col(Response.invitation_id))
        .join(Dossier, col(Dossier.id) == col(Invitation.dossier_id))
        .where(_in_days(Response.received_day, period), key.is_not(None))
        .group_by(key, col(Response.received_day))
    )


def _petition_counts(period: Period | None) -> Any:
    on_time = and_(
        col(Petition.handled_at).is_not(None),
        or_(
            col(Petition.deadline_at).is_(None),
            col(Petition.handled_at) <= col(Petition.deadline_at),
        ),
    )
    late = and_(
        col(Petition.handled_at).is_not(None),
        col(Petition.deadline_at).is_not(None),
        col(Petition.handled_at) > col(Petition.deadline_at),
    )
    return (
        select(
            col(Petition.agency_id),
            col(Petition.received_day),
            func.count().label("petitions"),
            _count(col(Petition.within_authority).is_(True)).label("petitions_in_authority"),
            _count(and_(col(Petition.within_authority).is_(True), on_time)).label(
                "petitions_in_authority_on_time"
            ),
            _count(
                or_(
                    col(Petition.citizen_verdict) == "unsatisfied",
                    col(Petition.result_complaint).is_(True),
                    late,
                )
            ).label("petitions_bad"),
        )
        .where(_in_days(Petition.received_day, period))
        .group_by(col(Petition.agency_id), col(Petition.received_day))
    )


def _merge(session: Session, query: Any, into: dict[tuple[int, date], Counter[str]]) -> None:
    result = session.execute(query)
    names = list(result.keys())[2:]
    for row in result:
        target = into.setdefault((row[0], row[1]), Counter())
        for name, value in zip(names, row[2:], strict=True):
            target[name] += int(value or 0)


def rebuild(session: Session, profile: Profile, period: Period | None = None) -> int:
    """Rebuild the counters (of one period's days, or all). Returns the counter rows written."""
    refresh_dossier_facts(session, profile, period)
    agency: dict[tuple[int, date], Counter[str]] = {}
    staff: dict[tuple[int, date], Counter[str]] = {}
    evaluation_staff = getattr(Dossier, f"{profile.staff.role_for_evaluations}_staff_id")
    _merge(session, _dossier_counts(profile, period, col(Dossier.agency_id)), agency)
    _merge(
        session,
        _dossier_counts(profile, period, col(Dossier.handling_staff_id), per_agency=False),
        staff,
    )
    _merge(session, _response_counts(profile, period, col(Response.agency_id)), agency)
    _merge(session, _response_counts(profile, period, col(evaluation_staff)), staff)
    _merge(session, _petition_counts(period), agency)
    for model in (AgencyDayCounter, StaffDayCounter):
        session.execute(delete(model).where(_in_days(model.day, period)))
    for model, key, rows in (
        (AgencyDayCounter, "agency_id", agency),
        (StaffDayCounter, "staff_id", staff),
    ):
        items = sorted(rows.items())
        for start in range(0, len(items), BATCH):
            upsert(session, model, key, dict(items[start : start + BATCH]))
    if period is None:
        state = session.get(ScoringState, 1) or ScoringState(profile_fingerprint="")
        state.profile_fingerprint, state.rebuilt_at = profile.fingerprint(), utcnow()
        session.add(state)
    session.flush()
    return len(agency) + len(staff)


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
