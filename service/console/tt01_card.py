"""The agency page's Thông tư 01/2018 card, shown only where that scoring is computed beside
the K score (`profile.also`): the total and its class, the rank among siblings, the nine
indicators with what each rests on, the entered ones (5, 6, 9), and the children's totals.

The figures are tt01_read's, the same the API serves; this file only puts them in the
page's language."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from service.models import Agency
from service.periods import Period
from service.profile import TT01_ENTERED, Profile, Tt01Key
from service.scoring.tt01_read import entered_indicators, tt01_scores
from service.scoring.tt01_schemas import Basis, Tt01Score


@dataclass(frozen=True)
class IndicatorRow:
    number: int
    key: Tt01Key
    name: str
    points: float | None
    max_points: int
    basis: Basis
    count: int | None

    @property
    def bar_width(self) -> str:
        """The bar's filled share of 100 (an SVG width: the CSP allows no inline style)."""
        share = 0.0 if self.points is None else min(1.0, max(0.0, self.points / self.max_points))
        return f"{share * 100:.1f}"


@dataclass(frozen=True)
class Tt01Card:
    score: Tt01Score
    class_label: str | None  # None: not classed yet (an indicator is missing)
    rows: list[IndicatorRow]
    missing: list[IndicatorRow]
    entered: list[IndicatorRow]  # indicators 5, 6 and 9, the form's fields
    values: dict[str, int]  # what is entered for the period itself, by key
    # Where a month has none of its own, it is scored on its quarter's (tt01_read): the
    # form showed those as "not set" and the card scored them (audit).
    inherited: dict[str, int]
    inherited_from: str | None  # the quarter
    # What a field left empty falls back to (the quarter's, also where the month has its
    # own): the empty choice read "Chưa có" there, and saving it gave the quarter's value.
    fallback: dict[str, int]
    fallback_from: str | None
    choices: list[int]  # the points one may enter, highest first
    children: dict[str, Tt01Score]  # by agency code


def card(
    session: Session, agency: Agency, period: Period, profile: Profile, lang: str
) -> Tt01Card | None:
    """The card, or None where no TT 01/2018 profile is computed (the page shows none)."""
    rules = profile.also
    if rules is None:
        return None
    [score] = tt01_scores(session, [agency], period, profile)
    names = {indicator.key: indicator.label(lang) for indicator in rules.indicators}
    rows = [
        IndicatorRow(
            number=i.number,
            key=i.key,
            name=names[i.key],
            points=i.points,
            max_points=i.max_points,
            basis=i.basis,
            count=i.count,
        )
        for i in score.indicators
    ]
    chosen = next((c for c in rules.classes if c.key == score.classification), None)
    assert agency.id is not None
    entered = entered_indicators(session, [agency.id], period, rules)[agency.id]
    children = list(
        session.exec(
            select(Agency).where(Agency.parent_id == agency.id).order_by(col(Agency.code))
        ).all()
    )
    return Tt01Card(
        score=score,
        class_label=(chosen.en if lang == "en" else chosen.vi) if chosen else None,
        rows=rows,
        missing=[r for r in rows if r.key in score.missing],
        entered=[r for r in rows if r.key in TT01_ENTERED],
        values=entered.own,
        inherited=entered.inherited,
        inherited_from=entered.inherited_from,
        fallback=entered.above,
        fallback_from=entered.container,
        choices=list(range(rules.max_points, -1, -1)),
        children=_by_code(tt01_scores(session, children, period, profile) if children else []),
    )


def _by_code(scores: list[Tt01Score]) -> dict[str, Tt01Score]:
    return {score.agency_code: score for score in scores}
