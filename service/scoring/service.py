"""Reading scores: sums of day counters, never a scan of dossiers or answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Literal, cast

from sqlalchemy import or_
from sqlmodel import Session, col, select

from service.errors import field_error
from service.models import Agency, PeriodInput, utcnow
from service.periods import Period
from service.profile import Profile
from service.scoring import aging
from service.scoring.compute import Computed, compute
from service.scoring.provenance import NOTHING_ENTERED, provenance
from service.scoring.schemas import (
    Component,
    CountsPublic,
    DSource,
    Group,
    Group5Public,
    InputsProvenance,
    Score,
)
from service.scoring.siblings import competition_ranks, siblings
from service.scoring.sums import period_sums

__all__ = [
    "Scored",
    "choose_scoring",
    "competition_ranks",
    "evaluate",
    "scored",
    "scores",
    "to_public",
]

Scoring = Literal["k_score", "tt01"]


def choose_scoring(profile: Profile, asked: str | None) -> Scoring:
    """Which of the scorings this service computes a request asked for (`profile=`)."""
    if asked is None or asked == profile.name:
        return "k_score"
    if profile.also is not None and asked == profile.also.name:
        return "tt01"
    computed = ", ".join(p for p in (profile.name, profile.also and profile.also.name) if p)
    raise field_error(
        "profile", f"'{asked}' is not computed by this service; it computes: {computed}"
    )


def summed_counts(
    session: Session,
    agency_ids: Sequence[int],
    period: Period,
    profile: Profile,
    now: datetime | None = None,
) -> dict[int, Counter[str]]:
    """The agencies' day counters summed over the period, with the petitions that are past
    their deadline at `now` (service/scoring/aging.py)."""
    if not agency_ids:
        return {}
    counts = period_sums(session, period, agency_ids=agency_ids)
    overdue = aging.overdue_open(session, period, profile, now or utcnow(), agency_ids=agency_ids)
    aging.add_overdue(counts, overdue)
    return counts


def inputs_for(
    session: Session, agency_ids: Sequence[int], period: Period
) -> dict[int, PeriodInput]:
    if not agency_ids:
        return {}
    rows = session.exec(
        select(PeriodInput).where(
            col(PeriodInput.agency_id).in_(agency_ids), PeriodInput.period == period.key
        )
    ).all()
    return {row.agency_id: row for row in rows}


def evaluate(
    session: Session, agencies: Sequence[Agency], period: Period, profile: Profile
) -> dict[int, Computed]:
    ids = [a.id for a in agencies if a.id is not None]
    counts = summed_counts(session, ids, period, profile)
    inputs = inputs_for(session, ids, period)
    result = {}
    for agency_id in ids:
        given = inputs.get(agency_id)
        result[agency_id] = compute(
            counts.get(agency_id, Counter()),
            given.d if given else None,
            given.e if given else None,
            profile,
        )
    return result


def siblings_of(session: Session, agencies: Sequence[Agency]) -> list[Agency]:
    if not agencies:
        return []
    parent_ids = {a.parent_id for a in agencies}
    query = select(Agency)
    conditions = []
    known = [p for p in parent_ids if p is not None]
    if known:
        conditions.append(col(Agency.parent_id).in_(known))
    if None in parent_ids:
        conditions.append(col(Agency.parent_id).is_(None))
    return list(session.exec(query.where(or_(*conditions))).all())


def counts_public(counts: Counter[str]) -> CountsPublic:
    return CountsPublic(
        resolved_dossiers=counts["resolved"],
        evaluations=counts["evaluations"],
        petitions=counts["petitions"],
    )


def _float(value: Fraction | None) -> float | None:
    return float(value) if value is not None else None


def to_public(
    agency: Agency,
    period: Period,
    profile: Profile,
    computed: Computed,
    rank: int | None,
    at: datetime | None = None,
    inputs: InputsProvenance = NOTHING_ENTERED,
) -> Score:
    """`inputs`: who entered the agency's D and E (see service/scoring/provenance.py)."""
    parts, g5, counts = computed.parts, computed.group5, computed.counts
    return Score(
        agency_code=agency.code,
        agency_name=agency.name,
        period=period.key,
        profile=profile.name,
        a=_float(parts["a"]),
        b=_float(parts["b"]),
        c=_float(parts["c"]),
        d=_float(parts["d"]),
        e=_float(parts["e"]),
        k=_float(computed.k),
        group=cast(Group, computed.group),
        k_min=float(computed.k_min),
        k_max=float(computed.k_max),
        missing=cast(list[Component], computed.missing),
        rank=rank,
        d_source=cast(DSource, computed.d_source),
        inputs=inputs,
        group5=Group5Public(
            score=_float(g5.score),
            petitions_on_time_rate=_float(g5.petitions_on_time_rate),
            petitions_satisfied_rate=_float(g5.petitions_satisfied_rate),
            dossiers_satisfied_rate=_float(g5.dossiers_satisfied_rate),
        ),
        counts=counts_public(counts),
        computed_at=at or utcnow(),
    )


@dataclass(frozen=True)
class Scored:
    """A score with the exact fractions it was decided on. What prints a score for people
    prints `computed` (cut to the places shown, service/numbers.py), never the floats of
    `score`: the float of a K a hair under the threshold reads as the threshold once cleaned
    of binary noise (19.99999999999996), or is it (20 - 1.3e-15 → 20.0), beside "Không hài
    lòng" (service/portal/views.py; audit)."""

    score: Score
    computed: Computed


def scores(
    session: Session, agencies: Sequence[Agency], period: Period, profile: Profile
) -> list[Score]:
    """The agencies' scores with their ranks (see `scored`)."""
    return [found.score for found in scored(session, agencies, period, profile)]


def scored(
    session: Session, agencies: Sequence[Agency], period: Period, profile: Profile
) -> list[Scored]:
    """The agencies' scores with their ranks, and their exact fractions. Each parent's
    children are scored together in one read of the counters, remembered while nothing
    changes (service/scoring/siblings.py): one score costs the same with 10 thousand or 5
    million dossiers behind it."""
    parents = dict.fromkeys(a.parent_id for a in agencies)  # each parent once, in order
    by_parent = {parent: siblings(session, parent, period, profile) for parent in parents}
    now = utcnow()
    result = []
    for agency in agencies:
        if agency.id is None:
            continue
        family = by_parent[agency.parent_id]
        computed = family.computed.get(agency.id)
        inputs = family.inputs.get(agency.id, NOTHING_ENTERED)
        if computed is None:  # not a child of its parent: cannot happen, but never guess
            computed = evaluate(session, [agency], period, profile)[agency.id]
            inputs = provenance(inputs_for(session, [agency.id], period).get(agency.id))
        rank = family.ranks.get(agency.id)
        score = to_public(agency, period, profile, computed, rank, now, inputs)
        result.append(Scored(score, computed))
    return result
