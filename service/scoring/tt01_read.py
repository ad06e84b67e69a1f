"""Reading TT 01/2018 scores: of agencies (from the day counters, as K is read) and of one
dossier (from its own rows). The arithmetic is tt01.py's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from sqlmodel import Session, col, select

from service.models import Agency, Dossier, Invitation, PeriodInput, Petition, Response, utcnow
from service.periods import Period, period_containing
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


def _totals(result: tt01.Tt01Result, rules: Tt01Profile) -> Tt01Totals:
    indicators = [
        Tt01IndicatorPublic(
            number=number,
            key=indicator.key,
            name=indicator.vi,
            points=_float(result.indicators[indicator.key].points),
            max_points=rules.max_points,
            basis=tt01.BASIS[indicator.key],
            count=result.indicators[indicator.key].count,
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
    above: dict[str, int]  # entered for `container`: what a key without its own falls back to
    container: str | None  # the period a month takes them from (its quarter), if any
    entry: InputEntry | None  # who last entered them: the period's own entry first

    @property
    def inherited(self) -> dict[str, int]:
        """The container's values the period is scored on: where it has none of its own."""
        return {key: value for key, value in self.above.items() if key not in self.own}

    @property
    def inherited_from(self) -> str | None:
        return self.container if self.inherited else None

    @property
    def values(self) -> dict[str, int]:
        """What the period is scored on."""
        return {**self.inherited, **self.own}


def entered_indicators(
    session: Session, ids: list[int], period: Period, rules: Tt01Profile
) -> dict[int, EnteredIndicators]:
    """Each agency's entered indicators for the period: a month takes its quarter's
    (`dossier_inputs_period`), as each of its dossiers does, and its own replace them key by
    key. A month's score read "missing 5, 6, 9" while the quarter's, and every dossier of the
    month, had them (audit); then a month with one of its own lost the quarter's other two
    (audit). The API, the exports and the console's card all read them here."""
    own = inputs_for(session, ids, period)
    container = _inputs_container(period, rules)
    theirs = inputs_for(session, ids, container) if container else {}
    return {
        agency_id: _merged(own.get(agency_id), theirs.get(agency_id), container)
        for agency_id in ids
    }


def _inputs_container(period: Period, rules: Tt01Profile) -> Period | None:
    """The longer period whose entered indicators a shorter one takes, or None."""
    order = ("month", "quarter", "year")
    if order.index(period.kind) >= order.index(rules.dossier_inputs_period):
        return None
    return period_containing(period.first_day, rules.dossier_inputs_period)


def _merged(
    mine: PeriodInput | None, container_row: PeriodInput | None, container: Period | None
) -> EnteredIndicators:
    """The period's own over its container's, key by key."""
    return EnteredIndicators(
        own=dict(mine.indicators or {}) if mine else {},
        above=dict(container_row.indicators or {}) if container_row else {},
        container=container.key if container else None,
        entry=_entered_by(mine) or _entered_by(container_row),
    )


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
                **_totals(results[agency.id], rules).model_dump(),
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
