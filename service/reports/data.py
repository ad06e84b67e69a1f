"""Everything a report says, gathered from the scoring services into one value.

Nothing here applies a scoring rule: scores and ranks come from service/scoring/service.py
(the same as /api/v1/rankings), the reasons from the public pages' plain words, the trend
from the portal's trend, overdue petitions from the explain view's petition rows, per-staff
figures from service/scoring/staff.py (with its anonymity minimum).

A score's figures are carried as the exact fractions its group was decided on (`Computed`)
and printed from them, never from the API's floats: the float of a K a hair under the
threshold (3 + 15.99999999999996 + 1) reads "20" once service/numbers.py has cleaned its
binary noise, beside "Không hài lòng" (audit; service/portal/views.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from sqlmodel import Session, col, select

from service.calendar.overrides import load_overrides
from service.calendar.working_days import local_date, overdue_working_days
from service.console.format import actor_name, local_day
from service.models import Agency, utcnow
from service.numbers import shown_decimal
from service.periods import Period
from service.portal import plain_words
from service.portal.trend import trend, trend_periods
from service.portal.trend_chart import has_data
from service.profile import Profile
from service.reports import words
from service.scoring import explain, service
from service.scoring.compute import Computed, exact
from service.scoring.schemas import InputEntry, Score
from service.scoring.service import Scored
from service.scoring.staff import staff_scores
from service.timebounds import EARLIEST_DAY

# Enough for any real quarter of one ward; a report lists at most this many per agency and
# says how many more there are.
PETITIONS_PER_AGENCY = 200


@dataclass(frozen=True)
class Row:
    """One child in the ranking, with its change against the previous period."""

    score: Score
    computed: Computed  # the same score, exact: what the report prints (see the module)
    previous: Score | None
    k_delta: Decimal | None  # K now − K before, as both are shown; None when either is missing
    rank_delta: int | None  # places gained (rank before − rank now)


@dataclass(frozen=True)
class Reasons:
    """Why an agency is not satisfied (or has no K yet), in sentences."""

    score: Score
    headline: str
    sentences: dict[str, list[str]]  # by component key, as words.COMPONENTS names them


@dataclass(frozen=True)
class OverduePetition:
    agency_name: str
    petition_code: str
    dossier_code: str | None
    received_at: datetime
    deadline_at: datetime | None
    handled_at: datetime | None
    working_days_late: int


@dataclass(frozen=True)
class StaffBelow:
    agency_name: str
    staff_code: str
    display_name: str | None
    evaluations: int
    a: float | None
    b: float | None
    c: float | None


@dataclass(frozen=True)
class TrendPoint:
    """The children's K over one period: how many in each group, and their mean K."""

    period: Period
    satisfied: int
    not_satisfied: int
    no_data: int
    # Exact, as the K they are of (see the module).
    mean_k: Fraction | None
    min_k: Fraction | None
    max_k: Fraction | None


@dataclass(frozen=True)
class Source:
    agency_name: str
    d: Fraction | None  # exact (see the module)
    d_words: str
    e: Fraction | None
    e_words: str
    resolved: int
    evaluations: int
    petitions: int


@dataclass(frozen=True)
class Report:
    parent_code: str
    parent_name: str
    owner_name: str | None  # the parent's own parent (cơ quan chủ quản), if any
    place: str
    period: Period
    previous: Period | None  # None: nothing before the period (1900)
    issued_on: date
    profile_name: str
    profile_title: str
    threshold: float
    threshold_is_satisfied: bool  # K exactly at the threshold is satisfied (the profile's)
    k_max: float
    staff_below_rate: float
    min_evaluations: int
    rows: list[Row]
    # The report is on the parent itself, ranked among its siblings: it has no children (a
    # ward, whose manager's key reaches only the ward, files the quarterly report too).
    own: bool
    trend: list[TrendPoint]
    reasons: list[Reasons]
    overdue: list[OverduePetition]
    overdue_more: int  # overdue petitions beyond PETITIONS_PER_AGENCY, not listed
    staff_below: list[StaffBelow]
    staff_withheld: int  # staff with too few evaluations to be named
    sources: list[Source]
    generated_at: datetime = field(default_factory=utcnow)


def _ranked(scores: list[Scored]) -> list[Scored]:
    """The order of /api/v1/rankings: by rank, unranked last, then by code."""
    return sorted(
        scores, key=lambda s: (s.score.rank is None, s.score.rank or 0, s.score.agency_code)
    )


def _rows(current: list[Scored], before: list[Scored]) -> list[Row]:
    by_code = {s.score.agency_code: s for s in before}
    rows = []
    for found in _ranked(current):
        score, k = found.score, found.computed.k
        old = by_code.get(score.agency_code)
        k_delta = None
        rank_delta = None
        if old is not None and old.computed.k is not None and k is not None:
            # As the two K are shown (rounded down to two places): 21,004 then 21 was a
            # "-0" and counted as a fall between two K that both read 21 (audit).
            k_delta = shown_decimal(k) - shown_decimal(old.computed.k)
        if old is not None and old.score.rank is not None and score.rank is not None:
            rank_delta = old.score.rank - score.rank
        rows.append(Row(score, found.computed, old.score if old else None, k_delta, rank_delta))
    return rows


def _reasons(profile: Profile, scores: list[Scored]) -> list[Reasons]:
    """The explain view in words, for the children not satisfied or without a K."""
    threshold = profile.k_score.satisfied_threshold
    result = []
    for child in sorted(scores, key=lambda s: s.score.agency_code):
        score, computed = child.score, child.computed
        if score.group == "hai_long":
            continue
        k = computed.k
        if score.group == "khong_hai_long":
            # At the threshold itself where the profile counts it as not satisfied.
            below = "dưới" if k is not None and k < exact(threshold) else "không vượt"
            headline = f"K = {words.num(k)}, {below} ngưỡng {words.num(threshold)} điểm."
        else:
            missing = ", ".join(m.upper() for m in score.missing)
            headline = (
                f"Chưa đủ dữ liệu để tính K: còn thiếu {missing}; K có thể từ "
                f"{words.num(computed.k_min)} đến {words.num(computed.k_max)}."
            )
        facts = plain_words.facts(computed, profile, score.inputs)
        sentences = {key: [words.fact_sentence(f) for f in found] for key, found in facts.items()}
        result.append(Reasons(score, headline, sentences))
    return result


def _overdue(
    session: Session, agencies: list[Agency], period: Period, profile: Profile, now: datetime
) -> tuple[list[OverduePetition], int]:
    """Petitions of the period handled late or still open past their deadline, as the
    score counts them now."""
    overrides = load_overrides(session)
    listed, more = [], 0
    for agency in agencies:
        rows, late = explain.late_petition_rows(
            session, agency, period, profile, PETITIONS_PER_AGENCY, now
        )
        more += late - len(rows)
        for row in rows:
            if row.deadline_at is None:  # (late means past a deadline: never without one)
                continue
            listed.append(
                OverduePetition(
                    agency_name=agency.name,
                    petition_code=row.petition_code,
                    dossier_code=row.dossier_code,
                    received_at=row.received_at,
                    deadline_at=row.deadline_at,
                    handled_at=row.handled_at,
                    working_days_late=overdue_working_days(
                        row.deadline_at, row.handled_at or now, overrides
                    ),
                )
            )
    listed.sort(key=lambda p: (-p.working_days_late, p.agency_name, p.petition_code))
    return listed, more


def _staff(
    session: Session, agencies: list[Agency], period: Period, profile: Profile
) -> tuple[list[StaffBelow], int]:
    """Staff whose A, B or C is below the profile's rate. B and C rest on citizens' answers:
    below the anonymity minimum they are withheld (None) and only counted; A rests on the
    dossiers the person handled and is always shown."""
    bar = profile.report.staff_below_rate
    below, withheld = [], 0
    for agency in agencies:
        for person in staff_scores(session, agency, period, profile).data:
            if person.withheld and person.evaluations:
                withheld += 1
            if any(v is not None and v < bar for v in (person.a, person.b, person.c)):
                below.append(
                    StaffBelow(
                        agency.name,
                        person.staff_code,
                        person.display_name,
                        person.evaluations,
                        person.a,
                        person.b,
                        person.c,
                    )
                )
    return below, withheld


def _trend(
    session: Session, agencies: list[Agency], period: Period, profile: Profile, today: date
) -> list[TrendPoint]:
    periods = trend_periods(period, today)
    per_period: list[list[tuple[str | None, Fraction | None]]] = [[] for _ in periods]
    for agency in agencies:
        assert agency.id is not None
        for index, point in enumerate(trend(session, agency.id, periods, profile)):
            k = point.computed.k  # exact (see the module)
            # Every child is in one of the three groups, as in the ranking (one with no data
            # at all is "chưa đủ dữ liệu"; it was left out of the row, whose columns then no
            # longer added up to the children; audit). `None`: a period before any data.
            group = point.computed.group if has_data(point.computed) else None
            per_period[index].append((group, k))
    result: list[TrendPoint] = []
    for p, found in zip(periods, per_period, strict=True):
        if not result and all(g is None for g, _ in found):
            continue  # before the first period with any data: nothing to say
        ks = [k for _, k in found if k is not None]
        groups = [g or "chua_du_du_lieu" for g, _ in found]
        result.append(
            TrendPoint(
                period=p,
                satisfied=groups.count("hai_long"),
                not_satisfied=groups.count("khong_hai_long"),
                no_data=groups.count("chua_du_du_lieu"),
                mean_k=sum(ks, Fraction(0)) / len(ks) if ks else None,
                min_k=min(ks) if ks else None,
                max_k=max(ks) if ks else None,
            )
        )
    return result


def _entered(entry: InputEntry | None) -> str:
    if entry is None:
        return ""
    return f", do {actor_name(entry.set_by)} nhập ngày {local_day(entry.set_at)}"


def _sources(rows: list[Row]) -> list[Source]:
    result = []
    for row in rows:
        s, parts = row.score, row.computed.parts
        if s.d_source == "imported":
            d_words = "Nhập từ hệ thống phản ánh, kiến nghị" + _entered(s.inputs.d)
        elif s.d_source == "group5":
            d_words = "Tính trong hệ thống từ phản ánh, kiến nghị và phiếu đánh giá (nhóm 5)"
        else:
            d_words = "Chưa có"
        e_words = ("Cơ quan có thẩm quyền nhập" + _entered(s.inputs.e)) if s.e is not None else ""
        result.append(
            Source(
                agency_name=s.agency_name,
                d=parts["d"],
                d_words=d_words,
                e=parts["e"],
                e_words=e_words or "Chưa nhập",
                resolved=s.counts.resolved_dossiers,
                evaluations=s.counts.evaluations,
                petitions=s.counts.petitions,
            )
        )
    return result


def _root_name(session: Session, parent: Agency) -> str:
    """The province the parent belongs to: the place a report is signed in, as Decree 30
    writes it (words.place_name)."""
    root_code = parent.path.strip("/").split("/")[0]
    root = session.exec(select(Agency).where(Agency.code == root_code)).first()
    return words.place_name((root or parent).name)


def gather(
    session: Session,
    parent: Agency,
    period: Period,
    profile: Profile,
    today: date | None = None,
) -> Report:
    """The report on `parent`'s children for `period`, as of `today` (local); on `parent`
    itself when it has none, so a ward's report holds the ward's results and not an empty
    ranking that said "every unit is satisfied" of none (audit)."""
    now = utcnow()
    today = today or local_date(now)
    children = list(
        session.exec(
            select(Agency).where(Agency.parent_id == parent.id).order_by(col(Agency.code))
        ).all()
    )
    # None for a period of 1900, the first the service knows (asking for 1899 was a 500).
    previous = period.previous() if period.first_day > EARLIEST_DAY else None
    subjects = children or [parent]
    current = service.scored(session, subjects, period, profile)
    before = service.scored(session, subjects, previous, profile) if previous else []
    rows = _rows(current, before)
    overdue, more = _overdue(session, subjects, period, profile, now)
    below, withheld = _staff(session, subjects, period, profile)
    owner = session.get(Agency, parent.parent_id) if parent.parent_id is not None else None
    return Report(
        parent_code=parent.code,
        parent_name=parent.name,
        owner_name=owner.name if owner else None,
        place=_root_name(session, parent),
        period=period,
        previous=previous,
        issued_on=today,
        profile_name=profile.name,
        profile_title=profile.title,
        threshold=profile.k_score.satisfied_threshold,
        threshold_is_satisfied=profile.k_score.threshold_is_satisfied,
        # K's ceiling: what an agency with every part missing could still reach.
        k_max=profile.k_score.k_max(),
        staff_below_rate=profile.report.staff_below_rate,
        min_evaluations=profile.staff.min_evaluations_for_staff,
        rows=rows,
        own=not children,
        trend=_trend(session, subjects, period, profile, today),
        reasons=_reasons(profile, current),
        overdue=overdue,
        overdue_more=more,
        staff_below=below,
        staff_withheld=withheld,
        sources=_sources(rows),
    )
