"""The day counters summed over a period, per agency: the one read every score rests on,
whether for agencies named by id (service.py) or for all children of a parent at once
(siblings.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from service.models import COUNT_COLUMNS, Agency, AgencyDayCounter
from service.periods import Period


def period_sums(
    session: Session,
    period: Period,
    *,
    agency_ids: Sequence[int] | None = None,
    parent_filter: ColumnElement[bool] | None = None,
) -> dict[int, Counter[str]]:
    """For the agencies named by id, or the children that `parent_filter` selects."""
    sums = [func.sum(getattr(AgencyDayCounter, c)) for c in COUNT_COLUMNS]
    query = select(col(AgencyDayCounter.agency_id), *sums).where(
        col(AgencyDayCounter.day).between(period.first_day, period.last_day)
    )
    if agency_ids is not None:
        query = query.where(col(AgencyDayCounter.agency_id).in_(agency_ids))
    if parent_filter is not None:
        query = query.join(Agency, col(Agency.id) == col(AgencyDayCounter.agency_id))
        query = query.where(parent_filter)
    rows = session.execute(query.group_by(col(AgencyDayCounter.agency_id))).all()
    return {
        row[0]: Counter({c: int(v or 0) for c, v in zip(COUNT_COLUMNS, row[1:], strict=True)})
        for row in rows
    }
