"""Thông tư 01/2018/TT-VPCP: nine indicators of 0..2 points, per agency and per dossier.

Where each indicator comes from (profiles/tt-01-2018.toml states the points):
- 1 total time, 2 each agency's time: the dossier's facts, over every resolved dossier;
- 3 returns to complete the file, 4 agencies contacted, 7 staff attitude: the citizen's
  answers, over the evaluations that answered the question;
- 5 desk organisation, 6 public posting, 9 online services: entered per agency and period by
  the competent authority (service/scoring/inputs.py), per quarter: a month takes its
  quarter's, a year the mean of its quarters' (tt01_read.entered_indicators);
- 8 petitions answered on time: the petitions within the agency's authority, counted and
  aged by the K-score profile's petition rules (compute.petition_tally).
An agency's indicator is the mean over its basis, its total the sum of the nine; a total
with any indicator missing has no class ("chua_du_du_lieu") and says what it can still reach.
Arithmetic is exact, as for K: the class of "exactly 15" is decided exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Literal

from service.models import Dossier, Petition, Response
from service.profile import TT01_ENTERED, Profile, Tt01Key, Tt01Profile
from service.scoring.compute import petition_tally
from service.scoring.contributions import (
    counts_in_group5,
    petition_scored,
    petition_state,
    tt01_answer_points,
    tt01_time_points,
)

Basis = Literal["dossiers", "evaluations", "petitions", "entered"]
BASIS: dict[Tt01Key, Basis] = {
    "total_time": "dossiers",
    "agency_time": "dossiers",
    "returns_to_complete": "evaluations",
    "agencies_contacted": "evaluations",
    "desk_organisation": "entered",
    "public_posting": "entered",
    "staff_attitude": "evaluations",
    "petitions_on_time": "petitions",
    "online_services": "entered",
}
NO_CLASS = "chua_du_du_lieu"


@dataclass(frozen=True)
class Indicator:
    points: Fraction | None  # None: nothing to score it on
    count: int | None  # the dossiers, evaluations or petitions it rests on (None: entered)


@dataclass(frozen=True)
class Tt01Result:
    indicators: dict[Tt01Key, Indicator]
    total: Fraction | None
    total_min: Fraction
    total_max: Fraction
    classification: str
    missing: list[Tt01Key]


_VULGAR = {(1, 2): "½", (1, 3): "⅓", (2, 3): "⅔", (1, 4): "¼", (3, 4): "¾"}
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


class Mean(Fraction):
    """A mean of entered points: exact, and written "1¾" where printed as it is (the
    console's form names the value an empty field falls back to so): "7/4" reads as a date
    in Vietnamese, and "1,75" / "1.75" in one language only. Arithmetic on it gives a plain
    Fraction."""

    def __str__(self) -> str:
        whole, rest = divmod(self.numerator, self.denominator)
        if not rest:
            return str(whole)
        part = _VULGAR.get((rest, self.denominator)) or (
            f"{str(rest).translate(_SUPERSCRIPT)}\u2044{str(self.denominator).translate(_SUBSCRIPT)}"
        )
        return f"{whole or ''}{part}"


def _mean(points: int, count: int) -> Indicator:
    return Indicator(Fraction(points, count) if count else None, count)


def entered(values: Mapping[str, int | Fraction] | None) -> dict[Tt01Key, Indicator]:
    """Indicators 5, 6 and 9 as entered for the agency and period, or a year's mean of its
    quarters' (tt01_read.entered_indicators; missing: not entered)."""
    given = values or {}
    return {
        key: Indicator(Fraction(given[key]) if key in given else None, None) for key in TT01_ENTERED
    }


def _petitions(
    on_time: int, late: int, open_late: int, scored: int, rules: Tt01Profile
) -> Indicator:
    """Indicator 8 over the scored petitions: answered on time, answered late, still open
    past the deadline (or open and counted, where the K profile counts open ones)."""
    p = rules.petitions
    if not scored:
        return Indicator(Fraction(p.none_points), 0)
    earned = on_time * p.on_time_points + late * p.late_points + open_late * p.open_late_points
    return Indicator(Fraction(earned, scored), scored)


def agency_indicators(
    counts: Counter[str], values: Mapping[str, int | Fraction] | None, profile: Profile
) -> dict[Tt01Key, Indicator]:
    """An agency's nine indicators from its summed day counters (with the petitions overdue
    at the moment of reading, as for K) and its entered values."""
    rules = profile.also
    assert rules is not None
    time = _mean(counts["tt_time_points"], counts["resolved"])
    tally = petition_tally(counts, profile)
    handled = counts["petitions_in_authority"] - counts["petitions_open_in_authority"]
    on_time = counts["petitions_in_authority_on_time"]
    result: dict[Tt01Key, Indicator] = {
        "total_time": time,
        "agency_time": time,  # rules.time.agency_time == "as_total_time"
        "returns_to_complete": _mean(counts["tt_returns_points"], counts["b_answered"]),
        "agencies_contacted": _mean(counts["tt_contacts_points"], counts["tt_contacts_answered"]),
        "staff_attitude": _mean(counts["tt_attitude_points"], counts["c_answered"]),
        "petitions_on_time": _petitions(
            on_time, handled - on_time, tally.in_authority - handled, tally.in_authority, rules
        ),
    }
    result.update(entered(values))
    return {key: result[key] for key in rules_keys(rules)}


def rules_keys(rules: Tt01Profile) -> list[Tt01Key]:
    return [indicator.key for indicator in rules.indicators]


def total(indicators: dict[Tt01Key, Indicator], rules: Tt01Profile) -> Tt01Result:
    missing = [key for key, value in indicators.items() if value.points is None]
    known = sum((v.points for v in indicators.values() if v.points is not None), Fraction(0))
    if missing:
        reach = known + rules.max_points * len(missing)
        return Tt01Result(indicators, None, known, reach, NO_CLASS, missing)
    return Tt01Result(indicators, known, known, known, rules.classify(known).key, [])


# --- one dossier -----------------------------------------------------------------------------


def dossier_indicators(
    dossier: Dossier,
    response: Response | None,
    petitions: list[Petition],
    values: Mapping[str, int] | None,
    profile: Profile,
    now: datetime,
) -> dict[Tt01Key, Indicator]:
    """One dossier's nine indicators: its facts, its evaluation (if any), the petitions about
    it within the agency's authority, and its agency's entered values."""
    rules = profile.also
    assert rules is not None
    time = Indicator(Fraction(tt01_time_points(dossier, rules)), 1)
    answers = tt01_answer_points(response, profile) if response is not None else Counter()

    def answered(points_key: str, asked: object) -> Indicator:
        if response is None or asked is None:
            return Indicator(None, 0)
        return Indicator(Fraction(answers[points_key]), 1)

    scored = [
        p
        for p in petitions
        if p.within_authority and counts_in_group5(p, profile) and petition_scored(p, profile, now)
    ]
    handled = [p for p in scored if p.handled_at is not None]
    on_time = sum(1 for p in handled if petition_state(p, now) == "on_time")
    result: dict[Tt01Key, Indicator] = {
        "total_time": time,
        "agency_time": time,
        "returns_to_complete": answered(
            "tt_returns_points", response.supplement_requests if response else None
        ),
        "agencies_contacted": answered(
            "tt_contacts_points", response.agencies_contacted if response else None
        ),
        "staff_attitude": answered(
            "tt_attitude_points", response.staff_attitude if response else None
        ),
        "petitions_on_time": _petitions(
            on_time, len(handled) - on_time, len(scored) - len(handled), len(scored), rules
        ),
    }
    result.update(entered(values))
    return {key: result[key] for key in rules_keys(rules)}
