"""What the public pages show, read inside one unit of work from the score counters.

Agency-level figures only: the counters and period inputs carry no staff, no dossier and no
free text, and the plain-words facts are counts. Nothing here reads dossiers, answers or
petitions.

A page prints a score's figures from its exact fractions (`Computed`, `value_of`), never
from the floats of the API's `Score`: the group is decided on the fraction, and the float
of a K a hair under the threshold (19.99999999999996, from a D the API accepts) reads "20"
once numbers.py has cleaned its binary noise, beside "Không hài lòng" (audit). A fraction
is never cleaned, only cut (numbers.shown_decimal), so what is shown never crosses it.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from sqlmodel import Session, col, select

from service.admin.agencies import get_agency_by_code
from service.models import Agency, PeriodInput
from service.periods import Period
from service.portal import plain_words, trend
from service.portal.memo import ComputeMemo
from service.scoring import service as scoring
from service.scoring.compute import Computed
from service.scoring.provenance import NOTHING_ENTERED, provenance
from service.scoring.schemas import Score
from service.scoring.service import Scored
from service.scoring.siblings import change_marker, siblings

SORTS = ("k", "name", "a", "b", "c", "d", "e", "g5", "n")
NONE: tuple[None, None] = (None, None)  # no D and no E entered


@dataclass(frozen=True)
class AgencyRef:
    code: str
    name: str


@dataclass(frozen=True)
class RankingRow:
    code: str
    name: str
    rank: int | None
    computed: Computed
    has_children: bool


@dataclass
class RankingView:
    parent: AgencyRef | None  # None: the top-level agencies ranked among themselves
    ancestors: list[AgencyRef]  # above the parent, top first
    rows: list[RankingRow]
    # The scored siblings it was made from: the same object while nothing has changed in
    # the database (scoring/siblings.py), which lets the page reuse its rendering.
    source: object = None


@dataclass
class AgencyView:
    agency: AgencyRef
    ancestors: list[AgencyRef]  # top first, ending with the parent
    score: Score
    computed: Computed  # the same score, exact: what the page prints (see the module)
    ranked_siblings: int  # siblings (itself included) that have a K
    has_children: bool
    facts: dict[str, list[plain_words.Fact]]
    trend: list[trend.TrendPoint] = field(default_factory=list)


def evaluate(
    session: Session, ids: Sequence[int], period: Period, memo: ComputeMemo
) -> dict[int, Computed]:
    """scoring.service.evaluate, with the arithmetic remembered (service/portal/memo.py):
    the same two reads, the summed counters and the period's D and E (as plain columns: a
    ranking reads 300 of them)."""
    counts = scoring.summed_counts(session, ids, period, memo.profile)
    inputs: dict[int, tuple[float | None, float | None]] = {}
    if ids:
        rows = session.exec(
            select(PeriodInput.agency_id, PeriodInput.d, PeriodInput.e).where(
                col(PeriodInput.agency_id).in_(ids), PeriodInput.period == period.key
            )
        ).all()
        inputs = {agency_id: (d, e) for agency_id, d, e in rows}
    return {
        agency_id: memo.compute(counts.get(agency_id, Counter()), *inputs.get(agency_id, NONE))
        for agency_id in ids
    }


def _refs_of_path(session: Session, path: str) -> list[AgencyRef]:
    codes = path.strip("/").split("/")
    rows = session.exec(select(Agency.code, Agency.name).where(col(Agency.code).in_(codes))).all()
    names = dict(rows)
    return [AgencyRef(code, names[code]) for code in codes if code in names]


def _with_children(session: Session, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    rows = session.exec(
        select(Agency.parent_id).where(col(Agency.parent_id).in_(ids)).distinct()
    ).all()
    return {r for r in rows if r is not None}


@dataclass(frozen=True)
class Member:
    id: int
    code: str
    name: str


def _members(session: Session, parent_id: int | None) -> list[Member]:
    """The children of a parent (None: the top-level agencies), as plain rows: a ranking
    needs 300 of them and no ORM objects."""
    query = select(Agency.id, Agency.code, Agency.name)
    if parent_id is None:
        query = query.where(col(Agency.parent_id).is_(None))
    else:
        query = query.where(Agency.parent_id == parent_id)
    return [Member(i, code, name) for i, code, name in session.exec(query).all() if i is not None]


def ranking(
    session: Session, parent_code: str | None, period: Period, memo: ComputeMemo
) -> RankingView | None:
    """The children of `parent_code`; without one, the children of the only top-level
    agency (or the top-level agencies, when there are several). None: no such parent."""
    # First: everything read after it is at least as new, so a page remembered with these
    # scores (pages.py) never outlives a change to the names or the tree either.
    marker = change_marker(session)
    parent: Agency | None = None
    if parent_code:
        parent = get_agency_by_code(session, parent_code)
        if parent is None:
            return None
    else:
        roots = list(session.exec(select(Agency).where(col(Agency.parent_id).is_(None))).all())
        parent = roots[0] if len(roots) == 1 else None
    members = _members(session, parent.id if parent else None)
    # Scored and ranked together, remembered while nothing changes (scoring/siblings.py).
    family = siblings(session, parent.id if parent else None, period, memo.profile, marker)
    computed, ranks = family.computed, family.ranks
    parents = _with_children(session, [m.id for m in members])
    rows = [
        RankingRow(m.code, m.name, ranks[m.id], computed[m.id], m.id in parents)
        for m in members
        if m.id in computed  # (an agency added between the two reads waits for the next)
    ]
    if parent is None:
        return RankingView(None, [], sort_rows(rows, "k"), family)
    ancestors = _refs_of_path(session, parent.path)[:-1]
    return RankingView(AgencyRef(parent.code, parent.name), ancestors, sort_rows(rows, "k"), family)


def agency_page(
    session: Session, code: str, period: Period, memo: ComputeMemo, today: date
) -> AgencyView | None:
    agency = get_agency_by_code(session, code)
    if agency is None or agency.id is None:
        return None
    family = siblings(session, agency.parent_id, period, memo.profile)
    ranks = family.ranks
    computed = family.computed[agency.id]
    profile = memo.profile
    periods = trend.trend_periods(period, today)
    score = scoring.to_public(
        agency,
        period,
        profile,
        computed,
        ranks[agency.id],
        inputs=family.inputs.get(agency.id, NOTHING_ENTERED),
    )
    return AgencyView(
        agency=AgencyRef(agency.code, agency.name),
        ancestors=_refs_of_path(session, agency.path)[:-1],
        score=score,
        computed=computed,
        ranked_siblings=sum(1 for rank in ranks.values() if rank is not None),
        has_children=bool(_with_children(session, [agency.id])),
        facts=plain_words.facts(computed, profile, score.inputs),
        trend=trend.trend(session, agency.id, periods, profile),
    )


def one_score(session: Session, code: str, period: Period, memo: ComputeMemo) -> Scored | None:
    """For the badge and the widget: the agency's score without its rank (no sibling pass)."""
    agency = get_agency_by_code(session, code)
    if agency is None or agency.id is None:
        return None
    computed = evaluate(session, [agency.id], period, memo)[agency.id]
    given = scoring.inputs_for(session, [agency.id], period).get(agency.id)
    score = scoring.to_public(
        agency, period, memo.profile, computed, None, inputs=provenance(given)
    )
    return Scored(score, computed)


def _name_key(name: str) -> str:
    """Vietnamese names in alphabetical order, marks ignored: "Đ" files under "D"."""
    bare = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in bare if not unicodedata.combining(c)).casefold()


def value_of(computed: Computed, key: str) -> Fraction | int | None:
    """A ranking column, exact (see the module): k, a..e, g5 (group 5) or n (evaluations)."""
    if key == "n":
        return computed.counts["evaluations"]
    found = computed.group5.score if key == "g5" else (computed.k if key == "k" else None)
    if key in computed.parts:
        found = computed.parts[key]
    return found


def sort_rows(rows: list[RankingRow], key: str) -> list[RankingRow]:
    """By rank (K), by name, or by one column, highest first; agencies without that figure
    last. Ties keep rank order, then name."""
    by_rank = sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, _name_key(r.name)))
    if key == "name":
        return sorted(rows, key=lambda r: _name_key(r.name))
    if key == "k" or key not in SORTS:
        return by_rank

    def column(row: RankingRow) -> tuple[bool, Fraction | int]:
        value = value_of(row.computed, key)
        return (value is None, -(value or 0))

    return sorted(by_rank, key=column)
