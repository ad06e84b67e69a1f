"""Per-staff scores: A over dossiers handled, B and C over evaluations of dossiers returned.

B and C are withheld below the profile's anonymity minimum, so that no single answer can be
traced to the citizen who gave it, in the period or in any month of it, or by taking the
figures shown from the agency's own B and C (`_hide_complement`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from service.models import COUNT_COLUMNS, Agency, AgencyDayCounter, Staff, StaffDayCounter
from service.periods import Period
from service.profile import Profile
from service.scoring.compute import b_c_evaluations, compute
from service.scoring.schemas import StaffScore, StaffScoreList
from service.scoring.sums import period_sums

Monthly = dict[int, dict[str, Counter[str]]]  # id -> "YYYY-MM" -> counts


def staff_scores(
    session: Session, agency: Agency, period: Period, profile: Profile
) -> StaffScoreList:
    people = session.exec(
        select(Staff).where(Staff.agency_id == agency.id).order_by(col(Staff.code))
    ).all()
    ids = [p.id for p in people if p.id is not None]
    months = _monthly(session, StaffDayCounter, col(StaffDayCounter.staff_id), ids, period)
    sums = {person: sum(by_month.values(), Counter()) for person, by_month in months.items()}
    minimum = profile.staff.min_evaluations_for_staff
    assert agency.id is not None
    agency_counts = period_sums(session, period, agency_ids=[agency.id]).get(agency.id, Counter())
    hidden_in_a_month = (
        {}
        if period.kind == "month"
        else _hidden_in_a_month(session, agency.id, period, ids, months, profile)
    )
    data = []
    for person in people:
        assert person.id is not None
        counts = sums.get(person.id, Counter())
        parts = compute(counts, None, None, profile).parts
        withheld = _too_few(counts, profile)
        # A quarter's figure less a month's is the other months' figure: with July's five
        # answers shown and the quarter's six, August's one answer was the difference
        # (audit). So a period's B and C are shown only when every month of it that has
        # answers would show them on its own (_too_few: a month whose C no answer rests on
        # hides them too, and its B was the quarter less the other months; third audit);
        # the thin month is named.
        thin = sorted(
            key
            for key, month_counts in months.get(person.id, {}).items()
            if month_counts["evaluations"] > 0 and _too_few(month_counts, profile)
        )
        thin_month = thin[0] if thin and not withheld and period.kind != "month" else None
        # Likewise a month in which they are hidden with others: the period's figure less
        # the other months' is that month's, and the agency's month less it gave the few
        # answers their hiding protects (second audit).
        with_others = not withheld and thin_month is None and person.id in hidden_in_a_month
        withheld = withheld or thin_month is not None or with_others
        b_evaluations, c_evaluations = b_c_evaluations(counts, profile)
        data.append(
            StaffScore(
                staff_code=person.code,
                display_name=person.display_name,
                resolved_dossiers=counts["resolved"],
                a=float(parts["a"]) if parts["a"] is not None else None,
                evaluations=counts["evaluations"],
                b_evaluations=b_evaluations,
                c_evaluations=c_evaluations,
                b=None if withheld or parts["b"] is None else float(parts["b"]),
                c=None if withheld or parts["c"] is None else float(parts["c"]),
                withheld=withheld,
                thin_month=thin_month,
                hidden_with_others=with_others,
            )
        )
    shown = {
        n: (score.b_evaluations, score.c_evaluations)
        for n, score in enumerate(data)
        if not score.withheld
    }
    for n in _hide_complement(shown, b_c_evaluations(agency_counts, profile), minimum):
        data[n] = data[n].model_copy(
            update={"b": None, "c": None, "withheld": True, "hidden_with_others": True}
        )
    return StaffScoreList(
        agency_code=agency.code, period=period.key, min_evaluations=minimum, data=data
    )


def _too_few(counts: Counter[str], profile: Profile) -> bool:
    # B and C each rest on the evaluations that answered their question: four that left
    # staff_attitude blank and one "poor" made C that one citizen's answer. One that no
    # answer rests on is no figure at all (null), and hides nothing of the other: a month
    # of imports without staff_attitude withheld B too, and with it every quarter and year
    # around it (review).
    minimum = profile.staff.min_evaluations_for_staff
    few = (0 < n < minimum for n in b_c_evaluations(counts, profile))
    return counts["evaluations"] < minimum or any(few)


def _monthly(
    session: Session, table: Any, id_column: Any, ids: list[int], period: Period
) -> Monthly:
    """Each id's day counters of `table` summed by month of the period."""
    if not ids:
        return {}
    day = col(table.day)
    year, month = func.extract("year", day), func.extract("month", day)
    columns = [func.sum(getattr(table, c)) for c in COUNT_COLUMNS]
    months: Monthly = {}
    for row in session.execute(
        select(id_column, year, month, *columns)
        .where(id_column.in_(ids), day.between(period.first_day, period.last_day))
        .group_by(id_column, year, month)
    ).all():
        counts = Counter({c: int(v or 0) for c, v in zip(COUNT_COLUMNS, row[3:], strict=True)})
        months.setdefault(row[0], {})[f"{int(row[1])}-{int(row[2]):02d}"] = counts
    return months


def _hidden_in_a_month(
    session: Session,
    agency_id: int,
    period: Period,
    ids: list[int],
    months: Monthly,
    profile: Profile,
) -> set[int]:
    """The staff (ids) that a month of the period, asked for on its own, hides with others:
    the same rule over the same figures, in the same order (`ids`, the list's), as that
    month's own list, so that the same officer is picked."""
    agency_months = _monthly(
        session, AgencyDayCounter, col(AgencyDayCounter.agency_id), [agency_id], period
    ).get(agency_id, {})
    minimum = profile.staff.min_evaluations_for_staff
    hidden: set[int] = set()
    for key, agency_month in agency_months.items():
        of_month = [months.get(person, {}).get(key, Counter()) for person in ids]
        shown = {
            n: b_c_evaluations(counts, profile)
            for n, counts in enumerate(of_month)
            if not _too_few(counts, profile)
        }
        agency = b_c_evaluations(agency_month, profile)
        hidden.update(ids[n] for n in _hide_complement(shown, agency, minimum))
    return hidden


def _hide_complement(
    shown: dict[int, tuple[int, int]], agency: tuple[int, int], minimum: int
) -> list[int]:
    """Which of the shown staff to hide as well. The agency's B and C are public: less the
    shown staff's, they are the figure of the evaluations left, those of staff withheld
    for too few answers and of dossiers with no staff named. Five answers of one officer
    shown and one of another withheld: the agency's C less the first's gave the one (audit).
    While what is left of B's or C's evaluations is more than none and fewer than the
    minimum, one of the shown is hidden too: of those with answers in such a short figure,
    the one with the fewest there. Hiding one with none there leaves it as short: an officer
    whose imported evaluations left C blank lost a B of seven answers that gave nothing away
    (audit). A short figure no shown staff has answers in is the agency's own, and public."""
    shown = dict(shown)
    hidden: list[int] = []
    while True:
        left = [whole - sum(part[i] for part in shown.values()) for i, whole in enumerate(agency)]
        short = [i for i, n in enumerate(left) if 0 < n < minimum]
        helping = [(part[i], n) for i in short for n, part in shown.items() if part[i] > 0]
        if not helping:
            return hidden
        fewest = min(helping)[1]
        del shown[fewest]
        hidden.append(fewest)
