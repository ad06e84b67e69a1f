"""From summed day counters and period inputs to the scores the rules define.

Arithmetic is exact (fractions) so that "K exactly 20" is decided exactly; values leave as
floats, unrounded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from service.models import COUNT_COLUMNS
from service.profile import Profile

COMPONENTS = ("a", "b", "c", "d", "e")


@lru_cache(maxsize=1024)
def exact(value: float) -> Fraction:
    """The decimal a person wrote (17.5, 0.9), as an exact fraction. Remembered: the same
    few profile constants and inputs come back for every agency of a ranking."""
    return Fraction(Decimal(str(value)))


_ONE, _ZERO = Fraction(1), Fraction(0)


def _ratio(numerator: int | Fraction, denominator: int) -> Fraction | None:
    if not denominator:
        return None
    if isinstance(numerator, int):
        return Fraction(numerator, denominator)  # one gcd instead of a division's three
    return numerator / denominator


@dataclass
class Group5Result:
    score: Fraction | None
    petitions_on_time_rate: Fraction | None
    petitions_satisfied_rate: Fraction | None
    dossiers_satisfied_rate: Fraction | None


@dataclass
class Computed:
    parts: dict[str, Fraction | None]
    k: Fraction | None
    k_min: Fraction
    k_max: Fraction
    group: str
    missing: list[str]
    group5: Group5Result
    d_source: str | None
    counts: Counter[str] = field(default_factory=Counter)


# Read with the counters, at the moment of reading (service/scoring/aging.py): the open
# petitions of the period whose deadline has passed.
READ_TIME_COLUMNS = ("petitions_overdue", "petitions_overdue_in_authority")
SCORED_COLUMNS = (*COUNT_COLUMNS, *READ_TIME_COLUMNS)


@dataclass(frozen=True)
class PetitionTally:
    """The petitions of rates a and b at the moment of reading, by the profile's rules for
    open ones (contributions.petition_scored states the same rule for one petition)."""

    scored: int  # rate b's denominator
    not_bad: int  # rate b's numerator
    in_authority: int  # rate a's denominator
    in_authority_on_time: int  # rate a's numerator


def petition_tally(counts: Counter[str], profile: Profile) -> PetitionTally:
    rules = profile.petitions
    overdue, overdue_auth = counts["petitions_overdue"], counts["petitions_overdue_in_authority"]
    pending = counts["petitions_open"] - overdue
    pending_auth = counts["petitions_open_in_authority"] - overdue_auth
    handled = counts["petitions"] - counts["petitions_open"]
    handled_auth = counts["petitions_in_authority"] - counts["petitions_open_in_authority"]
    late_counts = rules.open_after_deadline == "late"
    pending_counts = rules.open_within_deadline == "counted_not_on_time"
    scored = handled + overdue * late_counts + pending * pending_counts
    # Overdue open petitions are against rate b; pending ones (when counted) are not.
    not_bad = handled - counts["petitions_bad"] + pending * pending_counts
    in_authority = handled_auth + overdue_auth * late_counts + pending_auth * pending_counts
    return PetitionTally(scored, not_bad, in_authority, counts["petitions_in_authority_on_time"])


def group5(counts: Counter[str], profile: Profile) -> Group5Result:
    rules = profile.group5
    tally = petition_tally(counts, profile)
    rates = (
        _ratio(tally.in_authority_on_time, tally.in_authority),
        _ratio(tally.not_bad, tally.scored),
        _ratio(counts["resolved"] - counts["c_bad_dossiers"], counts["resolved"]),
    )
    points, full = exact(rules.points), exact(rules.full_marks_rate)
    earned = [points * min(Fraction(1), rate / full) for rate in rates if rate is not None]
    if not earned or (rules.missing_rate_rule == "null" and len(earned) < len(rates)):
        score = None
    else:
        score = sum(earned, Fraction(0)) * len(rates) / len(earned)
    return Group5Result(score, *rates)


def b_c_evaluations(counts: Counter[str], profile: Profile) -> tuple[int, int]:
    """The evaluations B and C are each divided by (profile k_score.unanswered_question)."""
    if profile.k_score.unanswered_question == "zero_points":
        return counts["evaluations"], counts["evaluations"]
    return counts["b_answered"], counts["c_answered"]


def compute(
    counts: Counter[str], d_input: float | None, e_input: float | None, profile: Profile
) -> Computed:
    rules = profile.k_score
    a = _ratio(
        counts["a_on_time"] * exact(rules.on_time_points)
        + counts["a_late_grace"] * exact(rules.late_within_grace_points),
        counts["resolved"],
    )
    b_evaluations, c_evaluations = b_c_evaluations(counts, profile)
    # The counters count the evaluations that earn B's or C's point.
    b = _ratio(counts["b_points"] * exact(rules.few_supplements_points), b_evaluations)
    c = _ratio(counts["c_points"] * exact(rules.good_attitude_points), c_evaluations)
    g5 = group5(counts, profile)
    d_source: str | None
    d: Fraction | None
    if d_input is not None:
        d, d_source = exact(d_input), "imported"
    else:
        d, d_source = g5.score, ("group5" if g5.score is not None else None)
    e = exact(e_input) if e_input is not None else None
    parts = {"a": a, "b": b, "c": c, "d": d, "e": e}
    maxima = {name: exact(most) for name, most in rules.maxima().items()}
    missing = [name for name in COMPONENTS if parts[name] is None]
    known = sum((v for v in parts.values() if v is not None), Fraction(0))
    if missing:
        k = None
        group = "chua_du_du_lieu"
        k_min, k_max = known, known + sum((maxima[m] for m in missing), Fraction(0))
    else:
        k = k_min = k_max = known
        threshold = exact(rules.satisfied_threshold)
        satisfied = k > threshold or (k == threshold and rules.threshold_is_satisfied)
        group = "hai_long" if satisfied else "khong_hai_long"
    return Computed(parts, k, k_min, k_max, group, missing, g5, d_source, counts)
