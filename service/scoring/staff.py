"""Per-staff scores: A over dossiers handled, B and C over evaluations of dossiers returned.

B and C are withheld below the profile's anonymity minimum, so that no single answer can be
traced to the citizen who gave it.
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


def staff_scores(
    session: Session, agency: Agency, period: Period, profile: Profile
) -> StaffScoreList:
    people = session.exec(
        select(Staff).where(Staff.agency_id == agency.id).order_by(col(Staff.code))
    ).all()
    ids = [p.id for p in people if p.id is not None]
    sums: dict[int, Counter[str]] = {}
    if ids:
        columns = [func.sum(getattr(StaffDayCounter, c)) for c in COUNT_COLUMNS]
        for row in session.execute(
            select(col(StaffDayCounter.staff_id), *columns)
            .where(col(StaffDayCounter.staff_id).in_(ids))
            .where(col(StaffDayCounter.day).between(period.first_day, period.last_day))
            .group_by(col(StaffDayCounter.staff_id))
        ).all():
            sums[row[0]] = Counter(
                {c: int(v or 0) for c, v in zip(COUNT_COLUMNS, row[1:], strict=True)}
            )
    minimum = profile.staff.min_evaluations_for_staff
    data = []
    for person in people:
        assert person.id is not None
        counts = sums.get(person.id, Counter())
        parts = compute(counts, None, None, profile).parts
        # B and C each rest on the evaluations that answered their question: four that
        # left staff_attitude blank and one "poor" made C that one citizen's answer.
        withheld = min(counts["evaluations"], *b_c_evaluations(counts, profile)) < minimum
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
            )
        )
    return StaffScoreList(
        agency_code=agency.code, period=period.key, min_evaluations=minimum, data=data
    )
