"""Per-staff scores: A over dossiers handled, B and C over evaluations of dossiers returned.

B and C are withheld below the profile's anonymity minimum, so that no single answer can be
traced to the citizen who gave it, in the period or in any month of it, or by taking the
figures shown from the agency's own B and C (`_hide_complement`).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func
from sqlmodel import Session, col, select

from service.models import COUNT_COLUMNS, Agency, Staff, StaffDayCounter
from service.periods import Period
from service.profile import Profile
from service.scoring.compute import b_c_evaluations, compute
from service.scoring.schemas import StaffScore, StaffScoreList
from service.scoring.sums import period_sums


def staff_scores(
    session: Session, agency: Agency, period: Period, profile: Profile
) -> StaffScoreList:
    people = session.exec(
        select(Staff).where(Staff.agency_id == agency.id).order_by(col(Staff.code))
    ).all()
    ids = [p.id for p in people if p.id is not None]
    sums: dict[int, Counter[str]] = {}
    months: dict[int, dict[str, Counter[str]]] = {}
    if ids:
        year = func.extract("year", col(StaffDayCounter.day))
        month = func.extract("month", col(StaffDayCounter.day))
        columns = [func.sum(getattr(StaffDayCounter, c)) for c in COUNT_COLUMNS]
        for row in session.execute(
            select(col(StaffDayCounter.staff_id), year, month, *columns)
            .where(col(StaffDayCounter.staff_id).in_(ids))
            .where(col(StaffDayCounter.day).between(period.first_day, period.last_day))
            .group_by(col(StaffDayCounter.staff_id), year, month)
        ).all():
            counts = Counter({c: int(v or 0) for c, v in zip(COUNT_COLUMNS, row[3:], strict=True)})
            months.setdefault(row[0], {})[f"{int(row[1])}-{int(row[2]):02d}"] = counts
            sums[row[0]] = sums.get(row[0], Counter()) + counts
    minimum = profile.staff.min_evaluations_for_staff
    assert agency.id is not None
    agency_counts = period_sums(session, period, agency_ids=[agency.id]).get(agency.id, Counter())
    data = []
    for person in people:
        assert person.id is not None
        counts = sums.get(person.id, Counter())
        parts = compute(counts, None, None, profile).parts
        # B and C each rest on the evaluations that answered their question: four that
        # left staff_attitude blank and one "poor" made C that one citizen's answer.
        withheld = min(counts["evaluations"], *b_c_evaluations(counts, profile)) < minimum
        # A quarter's figure less a month's is the other months' figure: with July's five
        # answers shown and the quarter's six, August's one answer was the difference
        # (audit). So a period's B and C are shown only when every month of it that has
        # answers has at least the minimum too; the thin month is named.
        thin = sorted(
            key
            for key, month_counts in months.get(person.id, {}).items()
            if any(0 < n < minimum for n in b_c_evaluations(month_counts, profile))
        )
        thin_month = thin[0] if thin and not withheld and period.kind != "month" else None
        withheld = withheld or thin_month is not None
        data.append(
            StaffScore(
                staff_code=person.code,
                display_name=person.display_name,
                resolved_dossiers=counts["resolved"],
                a=float(parts["a"]) if parts["a"] is not None else None,
                evaluations=counts["evaluations"],
                b=None if withheld or parts["b"] is None else float(parts["b"]),
                c=None if withheld or parts["c"] is None else float(parts["c"]),
                withheld=withheld,
                thin_month=thin_month,
            )
        )
    shown = {
        n: b_c_evaluations(sums.get(person.id or 0, Counter()), profile)
        for n, person in enumerate(people)
        if not data[n].withheld
    }
    for n in _hide_complement(shown, b_c_evaluations(agency_counts, profile), minimum):
        data[n] = data[n].model_copy(
            update={"b": None, "c": None, "withheld": True, "hidden_with_others": True}
        )
    return StaffScoreList(
        agency_code=agency.code, period=period.key, min_evaluations=minimum, data=data
    )


def _hide_complement(
    shown: dict[int, tuple[int, int]], agency: tuple[int, int], minimum: int
) -> list[int]:
    """Which of the shown staff to hide as well. The agency's B and C are public: less the
    shown staff's, they are the figure of the evaluations left, those of staff withheld
    for too few answers and of dossiers with no staff named. Five answers of one officer
    shown and one of another withheld: the agency's C less the first's gave the one (audit).
    While what is left of B's or C's evaluations is more than none and fewer than the
    minimum, the shown one with the fewest evaluations is hidden too."""
    shown, hidden = dict(shown), []
    while shown:
        left = [whole - sum(part[i] for part in shown.values()) for i, whole in enumerate(agency)]
        if not any(0 < n < minimum for n in left):
            break
        fewest = min(shown, key=lambda n: (min(shown[n]), n))
        del shown[fewest]
        hidden.append(fewest)
    return hidden
