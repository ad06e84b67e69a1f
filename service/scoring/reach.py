"""Response rates an office can act on: per agency, counter, staff member and channel, how
many invitations were issued in a period, delivered by message, opened and answered.

Rules (the constants are the profile's `[reach]` and `[staff]` tables):
- An invitation belongs to the period of its issue date in Vietnam local time.
- A revoked invitation is left out of `issued` (the one-stop system withdrew it; no citizen
  could answer it) and counted apart as `revoked`.
- Staff: the dossier's staff member the per-staff scores read evaluations from
  (`staff.role_for_evaluations`, the returning one by default). A staff member gets a row
  only with at least `min_evaluations_for_staff` answers, as for staff scores; the others
  are folded into one "other staff" row, so that the rows still add up to the total.
- Flag ("slips not handed out"): a counter or staff member with at least
  `reach.flag_min_issued` invitations whose rate is below `reach.flag_below_share` times
  the agency's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_
from sqlmodel import Session, col, select

from service.calendar.working_days import LOCAL_TZ
from service.models import Agency, Counter, Dossier, Invitation, OutgoingMessageRow, Staff
from service.models.agency import path_within
from service.periods import Period
from service.profile import Profile
from service.scoring.reach_schemas import (
    AgencyReach,
    Dimension,
    ReachCounts,
    ReachList,
    ReachRow,
    RowGroup,
)

# Statuses read here; the tables' check constraints name them.
REVOKED = "revoked"
SENT = "sent"


@dataclass
class Tally:
    issued: int = 0
    delivered: int = 0
    opened: int = 0
    answered: int = 0
    revoked: int = 0

    def add(self, other: Tally) -> None:
        self.issued += other.issued
        self.delivered += other.delivered
        self.opened += other.opened
        self.answered += other.answered
        self.revoked += other.revoked

    def rate(self) -> Fraction | None:
        return Fraction(self.answered, self.issued) if self.issued else None

    def counts(self) -> dict[str, Any]:
        rate = self.rate()
        return {
            "issued": self.issued,
            "delivered": self.delivered,
            "opened": self.opened,
            "answered": self.answered,
            "revoked": self.revoked,
            "rate": float(rate) if rate is not None else None,
        }


@dataclass
class _Group:
    key: Any  # a counter or staff id, a channel, or None
    tally: Tally = field(default_factory=Tally)


def issued_between(period: Period) -> tuple[datetime, datetime]:
    """The period's local days as an instant range [start, end)."""
    start = datetime.combine(period.first_day, time(0), LOCAL_TZ)
    end = datetime.combine(period.last_day + timedelta(days=1), time(0), LOCAL_TZ)
    return start, end


def _tally_columns() -> list[Any]:
    live = col(Invitation.status) != REVOKED
    sent = exists().where(
        col(OutgoingMessageRow.invitation_id) == col(Invitation.id),
        col(OutgoingMessageRow.status) == SENT,
    )
    seen = or_(col(Invitation.opened_at).is_not(None), col(Invitation.answered_at).is_not(None))

    def count_of(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return [
        count_of(live),
        count_of(and_(live, sent)),
        count_of(and_(live, seen)),
        count_of(and_(live, col(Invitation.answered_at).is_not(None))),
        count_of(col(Invitation.status) == REVOKED),
    ]


def _tallies(
    session: Session,
    agency: Agency,
    period: Period,
    by: Dimension,
    profile: Profile,
    subtree: bool,
    issued_before: datetime | None = None,
) -> list[_Group]:
    """One group per value of `by` among the agency's invitations issued in the period (and
    before `issued_before`, when given)."""
    start, end = issued_between(period)
    query = (
        select(*_tally_columns())
        .select_from(Invitation)
        .join(Dossier, col(Dossier.id) == col(Invitation.dossier_id))
    )
    if subtree:
        query = query.join(Agency, col(Agency.id) == col(Dossier.agency_id)).where(
            path_within(col(Agency.path), agency.path)
        )
    else:
        query = query.where(col(Dossier.agency_id) == agency.id)
    query = query.where(col(Invitation.issued_at) >= start, col(Invitation.issued_at) < end)
    if issued_before is not None:
        query = query.where(col(Invitation.issued_at) < issued_before)
    key: Any = None
    if by == "counter":
        key = col(Dossier.counter_id)
    elif by == "staff":
        key = col(getattr(Dossier, f"{profile.staff.role_for_evaluations}_staff_id"))
    elif by == "channel":
        key = col(Dossier.channel)
    elif by == "message_channel":
        # Each invitation once per channel it was sent on (an invitation and its reminder
        # on one channel are one).
        sent = (
            select(col(OutgoingMessageRow.invitation_id), col(OutgoingMessageRow.channel))
            .where(col(OutgoingMessageRow.status) == SENT)
            .distinct()
            .subquery()
        )
        query = query.join(sent, sent.c.invitation_id == col(Invitation.id))
        key = sent.c.channel
    if key is not None:
        query = query.add_columns(key).group_by(key)
    groups = []
    for row in session.execute(query).all():
        tally = Tally(*(int(v or 0) for v in row[:5]))
        if tally.issued or tally.revoked:
            groups.append(_Group(row[5] if key is not None else None, tally))
    return groups


def _flagged(tally: Tally, total: Tally, profile: Profile) -> bool:
    rules = profile.reach
    agency_rate, rate = total.rate(), tally.rate()
    if tally.issued < rules.flag_min_issued or agency_rate is None or rate is None:
        return False
    return rate < Fraction(str(rules.flag_below_share)) * agency_rate


def _names(
    session: Session, model: type[Counter] | type[Staff], ids: list[int]
) -> dict[int, tuple[str, str | None, str]]:
    """id -> (code, name, owning agency's code)."""
    if not ids:
        return {}
    name = col(Counter.name) if model is Counter else col(Staff.display_name)
    rows = session.execute(
        select(col(model.id), col(model.code), name, col(Agency.code))
        .join(Agency, col(Agency.id) == col(model.agency_id))
        .where(col(model.id).in_(ids))
    ).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _row(
    tally: Tally,
    total: Tally,
    profile: Profile,
    group: RowGroup,
    key: str | None = None,
    label: str | None = None,
    owner: str | None = None,
    folded: int = 0,
    flaggable: bool = False,
) -> ReachRow:
    return ReachRow(
        key=key,
        label=label,
        group=group,
        owner_agency_code=owner,
        folded_staff=folded,
        flagged=flaggable and _flagged(tally, total, profile),
        **tally.counts(),
    )


def _rows(
    session: Session, groups: list[_Group], by: Dimension, total: Tally, profile: Profile
) -> list[ReachRow]:
    named: list[ReachRow] = []
    none = Tally()
    has_none = False
    if by in ("channel", "message_channel"):
        for g in groups:
            if g.key is None:
                none.add(g.tally)
                has_none = True
            else:
                named.append(_row(g.tally, total, profile, "named", key=str(g.key)))
        named.sort(key=lambda r: r.key or "")
        return named + ([_row(none, total, profile, "none")] if has_none else [])
    model: type[Counter] | type[Staff] = Counter if by == "counter" else Staff
    names = _names(session, model, [g.key for g in groups if g.key is not None])
    minimum = profile.staff.min_evaluations_for_staff
    other, folded = Tally(), 0
    for g in groups:
        if g.key is None:
            none.add(g.tally)
            has_none = True
        elif by == "staff" and g.tally.answered < minimum:
            # Below the anonymity minimum: no row of its own (as for staff scores).
            other.add(g.tally)
            folded += 1
        else:
            code, label, owner = names[g.key]
            named.append(_row(g.tally, total, profile, "named", code, label, owner, flaggable=True))
    named.sort(key=lambda r: (r.owner_agency_code or "", r.key or ""))
    if folded:
        named.append(_row(other, total, profile, "other_staff", folded=folded))
    if has_none:
        named.append(_row(none, total, profile, "none"))
    return named


def agency_reach(
    session: Session,
    agency: Agency,
    period: Period,
    by: Dimension,
    profile: Profile,
    subtree: bool = False,
    issued_before: datetime | None = None,
) -> AgencyReach:
    """`issued_before`: only invitations issued before then (the totals; the rows by `by`
    do not take it)."""
    total = Tally()
    for g in _tallies(session, agency, period, "agency", profile, subtree, issued_before):
        total.add(g.tally)
    rows: list[ReachRow] = []
    if by != "agency":
        rows = _rows(
            session, _tallies(session, agency, period, by, profile, subtree), by, total, profile
        )
    return AgencyReach(
        agency_code=agency.code,
        agency_name=agency.name,
        total=ReachCounts(**total.counts()),
        rows=rows,
    )


def response_rates(
    session: Session,
    agencies: Sequence[Agency],
    period: Period,
    by: Dimension,
    profile: Profile,
    subtree: bool = False,
) -> ReachList:
    data = [agency_reach(session, a, period, by, profile, subtree) for a in agencies]
    return ReachList(
        period=period.key,
        by=by,
        subtree=subtree,
        profile=profile.name,
        staff_role=profile.staff.role_for_evaluations,
        min_evaluations_for_staff=profile.staff.min_evaluations_for_staff,
        flag_min_issued=profile.reach.flag_min_issued,
        flag_below_share=profile.reach.flag_below_share,
        data=data,
        count=len(data),
    )
