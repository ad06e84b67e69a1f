"""The rules of contributions.py stated in SQL, for statements over many rows at once: the
rebuild (rebuild.py, dossier_facts.py), the open petitions read with a score (aging.py) and
the console's lists. Each says which Python rule it restates; the property test in
tests/scoring checks that both forms agree."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, Date, Integer, and_, case, cast, false, func, or_, true

from service.calendar.working_days import LOCAL_TZ
from service.models import Dossier, Invitation, Petition, Response
from service.periods import Period
from service.profile import Profile, Tt01Profile
from service.timebounds import EARLIEST_DAY, LATEST_DAY

DOSSIERS: Any = Dossier.__table__  # type: ignore[attr-defined]
RESPONSES: Any = Response.__table__  # type: ignore[attr-defined]
INVITATIONS: Any = Invitation.__table__  # type: ignore[attr-defined]
PETITIONS: Any = Petition.__table__  # type: ignore[attr-defined]


def count_of(condition: ColumnElement[bool]) -> Any:
    """How many rows meet `condition`, as an aggregate."""
    # An integer, so that summing the branches stays in integers (PostgreSQL's sum of a
    # bigint is a numeric, slower and four times the memory).
    return cast(func.sum(case((condition, 1), else_=0)), Integer)


def in_days(column: Any, period: Period | None) -> ColumnElement[bool]:
    """The day column falls in the period (any day without one)."""
    return column.between(period.first_day, period.last_day) if period else true()


def unsatisfied(profile: Profile) -> ColumnElement[bool]:
    """contributions.is_unsatisfied. Never NULL: `x IN (...)` is NULL when x is, which a
    WHERE reads as false but a selected column (the evaluation exports) carries as no answer
    at all, for an imported evaluation without `overall` (audit). So each answer is asked
    for only when it is there; a row is then true or false, as in Python."""
    rules, r = profile.survey, RESPONSES.c
    return or_(
        and_(r.overall.is_not(None), r.overall.in_(rules.unsatisfied_overall)),
        and_(
            r.overall.is_(None),
            r.staff_attitude.is_not(None),
            r.staff_attitude.in_(rules.unsatisfied_attitude),
        ),
    )


def supplements_overdue(profile: Profile) -> ColumnElement[bool]:
    """contributions.supplements_overdue."""
    threshold = profile.supplements_overdue_from()
    column = DOSSIERS.c.supplement_requests
    return column >= threshold if threshold is not None else false()


def a_late_over(profile: Profile) -> ColumnElement[bool]:
    """contributions.a_bucket is "a_late_over": late past the grace days, or overdue by its
    supplement requests (766)."""
    rules, d = profile.k_score, DOSSIERS.c
    return or_(
        and_(d.is_late, d.overdue_working_days > rules.late_zero_after_working_days),
        supplements_overdue(profile),
    )


def c_bad(profile: Profile) -> ColumnElement[bool]:
    """contributions.c_bad: an unsatisfied evaluation, a petition, or overdue."""
    d = DOSSIERS.c
    return or_(
        d.has_unsatisfied_evaluation, d.has_petition, d.is_late, supplements_overdue(profile)
    )


def b_point(profile: Profile) -> ColumnElement[bool]:
    """contributions.b_point: an answer that earns B's point (an answer the questionnaire
    does not offer earns none)."""
    condition: ColumnElement[bool] = RESPONSES.c.supplement_requests.in_(profile.b_point_answers())
    return condition


def c_point(profile: Profile) -> ColumnElement[bool]:
    """contributions.c_point: an answer that earns C's point."""
    condition: ColumnElement[bool] = RESPONSES.c.staff_attitude.in_(profile.survey.good_attitude)
    return condition


def counted_in_group5(profile: Profile) -> ColumnElement[bool]:
    """contributions.counts_in_group5."""
    p = PETITIONS.c
    survey_counts = (
        and_(p.source == "survey", p.kind == "petition")
        if profile.petitions.survey_comments_are_petitions
        else false()
    )
    return or_(p.source != "survey", survey_counts)


def petition_handled_on_time() -> ColumnElement[bool]:
    """Petition.handled_on_time."""
    p = PETITIONS.c
    return and_(
        p.handled_at.is_not(None), or_(p.deadline_at.is_(None), p.handled_at <= p.deadline_at)
    )


def petition_handled_late() -> ColumnElement[bool]:
    """Petition.handled_late."""
    p = PETITIONS.c
    return and_(p.handled_at.is_not(None), p.deadline_at.is_not(None), p.handled_at > p.deadline_at)


def petition_bad_when_handled() -> ColumnElement[bool]:
    """contributions.petition_bad_when_handled, of a handled petition."""
    p = PETITIONS.c
    return and_(
        p.handled_at.is_not(None),
        or_(
            p.citizen_verdict == "unsatisfied",
            p.result_complaint.is_(True),
            petition_handled_late(),
        ),
    )


def petition_state_at(now: datetime) -> ColumnElement[str]:
    """contributions.petition_state: 'on_time', 'late' (handled late, or still open past its
    deadline at `now`) or 'open'."""
    p = PETITIONS.c
    return case(
        (p.handled_at.is_not(None), case((petition_handled_late(), "late"), else_="on_time")),
        (and_(p.deadline_at.is_not(None), p.deadline_at < now), "late"),
        else_="open",
    )


def local_day(column: Any, dialect: str) -> Any:
    """working_days.local_date: the Asia/Ho_Chi_Minh date of a stored UTC time. SQLite keeps
    naive UTC text and knows no zones: the offset is chosen by the time, from the zone's own
    history (UTC+7 since 13/6/1975; +8 before, and others back to 1900, the earliest date
    accepted: "+7 hours" alone dated a 1970 dossier a day early in a rebuild; audit)."""
    if dialect == "postgresql":
        return cast(func.timezone(str(LOCAL_TZ), column), Date)
    offsets = _local_offsets()
    shift = case(
        *(
            (column < until, f"{seconds:+d} seconds")
            for (_, seconds), (until, _) in pairwise(offsets)
        ),
        else_=f"{offsets[-1][1]:+d} seconds",
    )
    return func.date(column, shift)


@lru_cache(maxsize=1)
def _local_offsets() -> tuple[tuple[datetime, int], ...]:
    """The zone's UTC offsets over the accepted dates, from zoneinfo: (from when, seconds).
    Found day by day, then to the hour of each change (all of Vietnam's are on the hour)."""

    def offset(at: datetime) -> int:
        shift = at.astimezone(LOCAL_TZ).utcoffset()
        assert shift is not None
        return int(shift.total_seconds())

    at = datetime.combine(EARLIEST_DAY - timedelta(days=1), time(), UTC)
    end = datetime.combine(LATEST_DAY + timedelta(days=1), time(), UTC)
    found = [(at, offset(at))]
    while at < end:
        day_after = at + timedelta(days=1)
        if offset(day_after) != found[-1][1]:
            hour = at
            while offset(hour) == found[-1][1]:
                hour += timedelta(hours=1)
            found.append((hour, offset(hour)))
        at = day_after
    return tuple(found)


def sum_of(points: Any) -> Any:
    """The sum of a per-row integer expression, as an integer aggregate (see count_of)."""
    return cast(func.sum(points), Integer)


def tt01_time_points(rules: Tt01Profile, dialect: str) -> Any:
    """contributions.tt01_time_points."""
    d, time = DOSSIERS.c, rules.time
    early = local_day(d.resolved_at, dialect) < local_day(d.due_at, dialect)
    return case(
        (d.due_at.is_(None), time.no_due_time_points),
        (d.is_late, time.late_points),
        (early, time.early_points),
        else_=time.on_time_points,
    )


def tt01_answer_points(profile: Profile) -> dict[str, Any]:
    """contributions.tt01_answer_points, as per-row expressions to sum."""
    rules, r = profile.also, RESPONSES.c
    assert rules is not None
    supplements = profile.survey.question("supplement_requests")
    assert supplements is not None
    returns = {a.value: rules.returns_points_for(a.supplements or 0) for a in supplements.answers}
    capped = {
        value: min(points, rules.attitude_with_complaint_max)
        for value, points in rules.attitude_points.items()
    }
    complaint = and_(r.complaint.is_not(None), r.complaint != "")
    return {
        "tt_returns_points": case(returns, value=r.supplement_requests, else_=0),
        "tt_contacts_answered": case((r.agencies_contacted.is_not(None), 1), else_=0),
        "tt_contacts_points": case(rules.contacts_points, value=r.agencies_contacted, else_=0),
        "tt_attitude_points": case(
            (complaint, case(capped, value=r.staff_attitude, else_=0)),
            else_=case(rules.attitude_points, value=r.staff_attitude, else_=0),
        ),
    }
