"""Reading TT 01/2018 scores: of agencies (from the day counters, as K is read) and of one
dossier (from its own rows). The arithmetic is tt01.py's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from itertools import pairwise
from typing import Any

from sqlmodel import Session, col, select

from service.models import Agency, Dossier, Invitation, PeriodInput, Petition, Response, utcnow
from service.periods import Period, period_containing, periods_of
from service.profile import Profile, Tt01Profile
from service.scoring import tt01
from service.scoring.schemas import InputEntry
from service.scoring.service import counts_public, inputs_for, siblings_of, summed_counts
from service.scoring.siblings import ranks_by_parent
from service.scoring.tt01_schemas import (
    DossierTt01Score,
    Tt01IndicatorPublic,
    Tt01Score,
    Tt01Totals,
)


def _rules(profile: Profile) -> Tt01Profile:
    assert profile.also is not None, "checked by the route (scoring_choice)"
    return profile.also


def _float(value: Fraction | None) -> float | None:
    return float(value) if value is not None else None


def _totals(
    result: tt01.Tt01Result, rules: Tt01Profile, entered: EnteredIndicators | None = None
) -> Tt01Totals:
    indicators = [
        Tt01IndicatorPublic(
            number=number,
            key=indicator.key,
            name=indicator.vi,
            points=_float(result.indicators[indicator.key].points),
            max_points=rules.max_points,
            basis=tt01.BASIS[indicator.key],
            count=result.indicators[indicator.key].count,
            entered_from=entered.origin(indicator.key) if entered else None,
        )
        for number, indicator in enumerate(rules.indicators, start=1)
    ]
    return Tt01Totals(
        indicators=indicators,
        total=_float(result.total),
        total_min=float(result.total_min),
        total_max=float(result.total_max),
        max_total=rules.total_max(),
        classification=result.classification,
        missing=result.missing,
    )


def _entered_by(given: PeriodInput | None) -> InputEntry | None:
    if given is None or not given.indicators:
        return None
    return InputEntry(
        set_by=given.indicators_set_by or given.set_by,
        set_at=given.indicators_set_at or given.set_at,
    )


@dataclass(frozen=True)
class EnteredIndicators:
    """An agency's indicators 5, 6, 9 for a period, by key."""

    own: dict[str, int]  # entered for the period itself
    # What a key without its own falls back to: the container's entered value (a month's
    # quarter's, an int), or, for a period longer than the inputs period (a year), the exact
    # mean of those its parts (its quarters) have (a tt01.Mean). Any, not int | Fraction:
    # the console's card (tt01_card.py) still declares its copies dict[str, int]; it only
    # prints them.
    above: dict[str, Any]
    container: str | None  # where `above` comes from, as the console names it (see _span)
    entry: InputEntry | None  # who last entered them: the period's own entry first
    # For a longer period, by key: the parts whose entered values `above` is the mean of.
    mean_of: dict[str, list[Period]] = field(default_factory=dict)

    @property
    def inherited(self) -> dict[str, Any]:
        """The fallback values the period is scored on: where it has none of its own."""
        return {key: value for key, value in self.above.items() if key not in self.own}

    @property
    def inherited_from(self) -> str | None:
        if not self.mean_of:
            return self.container if self.inherited else None
        parts = {p for key in self.inherited for p in self.mean_of[key]}
        return _span(sorted(parts, key=lambda p: p.first_day)) if parts else None

    @property
    def values(self) -> dict[str, int | Fraction]:
        """What the period is scored on."""
        return {**self.inherited, **self.own}

    def origin(self, key: str) -> str | None:
        """Where the value the period is scored on for `key` comes from, in the API's words:
        None where it is the period's own or nothing is entered."""
        if key in self.own or key not in self.above:
            return None
        parts = self.mean_of.get(key)
        if not parts:
            return self.container
        unit = parts[0].kind if len(parts) == 1 else f"{parts[0].kind}s"
        return f"mean of {_span(parts)} ({len(parts)} {unit})"


def entered_indicators(
    session: Session, ids: list[int], period: Period, rules: Tt01Profile
) -> dict[int, EnteredIndicators]:
    """Each agency's entered indicators for the period: a month takes its quarter's
    (`dossier_inputs_period`), as each of its dossiers does, and its own replace them key by
    key. A month's score read "missing 5, 6, 9" while the quarter's, and every dossier of the
    month, had them (audit); then a month with one of its own lost the quarter's other two
    (audit). A year takes, key by key, the mean of its quarters' that have one: it read them
    as missing while every dossier of the year was scored with them (audit). The API, the
    exports and the console's card all read them here; one query per kind of period, however
    many agencies."""
    own = inputs_for(session, ids, period)
    container = _inputs_container(period, rules)
    if container is not None:
        theirs = inputs_for(session, ids, container)
        return {
            agency_id: _merged(own.get(agency_id), theirs.get(agency_id), container)
            for agency_id in ids
        }
    parts = _inputs_parts(period, rules)
    rows = _inputs_of_parts(session, ids, parts)
    return {
        agency_id: _averaged(own.get(agency_id), rows.get(agency_id, {}), parts)
        for agency_id in ids
    }


_ORDER = ("month", "quarter", "year")


def _inputs_container(period: Period, rules: Tt01Profile) -> Period | None:
    """The longer period whose entered indicators a shorter one takes, or None."""
    if _ORDER.index(period.kind) >= _ORDER.index(rules.dossier_inputs_period):
        return None
    return period_containing(period.first_day, rules.dossier_inputs_period)


def _inputs_parts(period: Period, rules: Tt01Profile) -> list[Period]:
    """The inputs periods inside a longer one (a year's quarters), in order, or none."""
    if _ORDER.index(period.kind) <= _ORDER.index(rules.dossier_inputs_period):
        return []
    parts = [period_containing(period.first_day, rules.dossier_inputs_period)]
    while parts[-1].last_day < period.last_day:
        parts.append(period_containing(parts[-1].last_day + timedelta(days=1), parts[-1].kind))
    return parts


def periods_reading_entered(period: Period, rules: Tt01Profile) -> list[Period]:
    """The periods whose entered indicators include those entered for `period`, by the
    rules above: itself, the shorter periods inside it that take them (a quarter's months),
    and the longer one that averages them (its year). Entering a quarter's changed four
    scores more than the quarter's, and only the quarter's was announced (audit)."""
    overlapping: dict[str, Period] = {}
    day = period.first_day
    while day <= period.last_day:
        overlapping.update((other.key, other) for other in periods_of(day))
        day = period_containing(day, "month").last_day + timedelta(days=1)
    return [
        other
        for other in overlapping.values()
        if other == period
        or _inputs_container(other, rules) == period
        or period in _inputs_parts(other, rules)
    ]


def _inputs_of_parts(
    session: Session, ids: list[int], parts: list[Period]
) -> dict[int, dict[str, PeriodInput]]:
    """The entered inputs of the parts, by agency and part: one query for every agency."""
    if not ids or not parts:
        return {}
    rows = session.exec(
        select(PeriodInput).where(
            col(PeriodInput.agency_id).in_(ids),
            col(PeriodInput.period).in_([part.key for part in parts]),
        )
    ).all()
    found: dict[int, dict[str, PeriodInput]] = {}
    for row in rows:
        found.setdefault(row.agency_id, {})[row.period] = row
    return found


def _merged(
    mine: PeriodInput | None, container_row: PeriodInput | None, container: Period
) -> EnteredIndicators:
    """The period's own over its container's, key by key."""
    return EnteredIndicators(
        own=dict(mine.indicators or {}) if mine else {},
        above=dict(container_row.indicators or {}) if container_row else {},
        container=container.key,
        entry=_entered_by(mine) or _entered_by(container_row),
    )


def _averaged(
    mine: PeriodInput | None, rows: dict[str, PeriodInput], parts: list[Period]
) -> EnteredIndicators:
    """The period's own over the exact mean, key by key, of its parts' that have one (the
    mean of what an agency's indicator rests on, as for the other indicators)."""
    given: dict[str, list[tuple[Period, int]]] = {}
    for part in parts:
        row = rows.get(part.key)
        for key, value in ((row.indicators or {}) if row else {}).items():
            given.setdefault(key, []).append((part, value))
    entries = [e for e in (_entered_by(rows.get(part.key)) for part in parts) if e is not None]
    with_any = [part for part in parts if rows.get(part.key) and rows[part.key].indicators]
    return EnteredIndicators(
        own=dict(mine.indicators or {}) if mine else {},
        above={k: tt01.Mean(sum(v for _, v in pairs), len(pairs)) for k, pairs in given.items()},
        container=_span(with_any) if with_any else None,
        entry=_entered_by(mine) or max(entries, key=lambda e: e.set_at, default=None),
        mean_of={key: [part for part, _ in pairs] for key, pairs in given.items()},
    )


def _span(parts: Sequence[Period]) -> str:
    """Periods named as the pages and the API name them: "2025-Q1..Q4" for a run of two or
    more in a row, else each ("2025-Q1, 2025-Q3"; "2025-Q2")."""
    in_a_row = all(b.first_day == a.last_day + timedelta(days=1) for a, b in pairwise(parts))
    if len(parts) < 2 or not in_a_row:
        return ", ".join(part.key for part in parts)
    year = parts[0].key.split("-")[0]
    return f"{parts[0].key}..{parts[-1].key.removeprefix(year + '-')}"


def tt01_scores(
    session: Session, agencies: Sequence[Agency], period: Period, profile: Profile
) -> list[Tt01Score]:
    """The agencies' TT 01/2018 scores, ranked among their siblings by total: one read of
    the counters for every sibling, as for K."""
    rules = _rules(profile)
    family = siblings_of(session, agencies)
    ids = [a.id for a in family if a.id is not None]
    counts = summed_counts(session, ids, period, profile)
    inputs = entered_indicators(session, ids, period, rules)
    results: dict[int, tt01.Tt01Result] = {}
    for agency_id in ids:
        values = tt01.agency_indicators(
            counts.get(agency_id, Counter()), inputs[agency_id].values, profile
        )
        results[agency_id] = tt01.total(values, rules)
    ranks = ranks_by_parent(family, {i: result.total for i, result in results.items()})
    now = utcnow()
    scores = []
    for agency in agencies:
        assert agency.id is not None
        scores.append(
            Tt01Score(
                **_totals(results[agency.id], rules, inputs[agency.id]).model_dump(),
                agency_code=agency.code,
                agency_name=agency.name,
                period=period.key,
                profile=rules.name,
                rank=ranks.get(agency.id),
                entered=inputs[agency.id].entry,
                counts=counts_public(counts.get(agency.id, Counter())),
                computed_at=now,
            )
        )
    return scores


def dossier_tt01(
    session: Session, dossier: Dossier, agency: Agency, profile: Profile
) -> DossierTt01Score:
    """One dossier's TT 01/2018 score: its facts, its evaluation, the petitions about it, and
    its agency's entered indicators of the period it was resolved in."""
    rules = _rules(profile)
    response = session.exec(
        select(Response)
        .join(Invitation, col(Invitation.id) == col(Response.invitation_id))
        .where(Invitation.dossier_id == dossier.id)
    ).first()
    petitions = list(session.exec(select(Petition).where(Petition.dossier_id == dossier.id)))
    period = period_containing(dossier.resolved_day, rules.dossier_inputs_period)
    assert agency.id is not None
    given = inputs_for(session, [agency.id], period).get(agency.id)
    values = tt01.dossier_indicators(
        dossier, response, petitions, given.indicators if given else None, profile, utcnow()
    )
    return DossierTt01Score(
        **_totals(tt01.total(values, rules), rules).model_dump(),
        dossier_code=dossier.code,
        agency_code=agency.code,
        period=period.key,
        profile=rules.name,
        evaluated=response is not None,
    )
