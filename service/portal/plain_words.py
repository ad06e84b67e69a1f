"""Why a score is what it is, as facts a sentence can carry: "3 of 120 dossiers were more
than 5 working days late".

Counts come from the agency's summed day counters (agency-level only: no dossier, staff or
answer is named). The sentences themselves live in templates/portal/_words.html, where
gettext can find them; a fact's `kind` names its sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from service.calendar.working_days import local_date
from service.console.format import actor_name
from service.profile import Profile
from service.scoring.compute import Computed, b_c_evaluations, petition_tally
from service.scoring.schemas import InputsProvenance


@dataclass(frozen=True)
class Fact:
    kind: str
    part: int = 0
    whole: int = 0
    # Exact where the part is (a Fraction): printed, its float may read as the next figure
    # up (views.py).
    value: Fraction | float | None = None
    limit: int = 0  # the rule's number in the sentence: working days late, or times asked
    # An entered value's provenance: who entered it (a key's name) and when.
    who: str | None = None
    when: date | None = None  # its local day (the page writes it in its language)


def _a(computed: Computed, profile: Profile) -> list[Fact]:
    n = computed.counts
    resolved = n["resolved"]
    if not resolved:
        return [Fact("a_none")]
    days = profile.k_score.late_zero_after_working_days
    if n["a_on_time"] == resolved:
        return [Fact("a_all_on_time", resolved, resolved)]
    facts = [Fact("a_on_time", n["a_on_time"], resolved)]
    if n["a_late_grace"]:
        facts.append(
            Fact(
                "a_late_grace",
                n["a_late_grace"],
                resolved,
                profile.k_score.late_within_grace_points,
                days,
            )
        )
    if n["a_late_over"]:
        # Where the profile makes a dossier sent back for supplements overdue (vn-766), the
        # zero-point ones are not all late: "more than 5 working days late" was said of
        # dossiers resolved early (audit).
        times = profile.supplements_overdue_from()
        if times is None:
            facts.append(Fact("a_late_over", n["a_late_over"], resolved, limit=days))
        else:
            late = Fact("a_late_over_or_supplements", n["a_late_over"], resolved, times, days)
            facts.append(late)
    return facts


def _b_c(computed: Computed, profile: Profile) -> tuple[list[Fact], list[Fact]]:
    n = computed.counts
    b_whole, c_whole = b_c_evaluations(n, profile)  # the rates' own denominators
    if not b_whole:
        b = [Fact("b_none")]
    else:
        times = profile.k_score.max_supplement_requests_for_point + 1
        b = [Fact("b_supplements", n["b_answered"] - n["b_points"], b_whole, limit=times)]
    c = [Fact("c_good", n["c_points"], c_whole)] if c_whole else [Fact("c_none")]
    return b, c


def _d(computed: Computed, inputs: InputsProvenance) -> list[Fact]:
    """Where D came from, truthfully: computed in hailong from its petitions and evaluations
    (group 5), or entered by hand — by whom and when, when that is known."""
    d = computed.parts["d"]
    if d is None:
        return [Fact("d_none")]
    if computed.d_source != "imported":
        return [Fact("d_group5", value=d)]
    entered = inputs.d
    if entered is None:
        return [Fact("d_entered", value=d)]
    if entered.set_by is not None and entered.set_by.startswith("official:"):
        # An official's actor is their e-mail address: a public page names their office's
        # role, not a person's mailbox (exports audit). A key's name is an office's label.
        return [Fact("d_entered_on", value=d, when=local_date(entered.set_at))]
    return [
        Fact(
            "d_entered_by",
            value=d,
            who=actor_name(entered.set_by),
            when=local_date(entered.set_at),
        )
    ]


def _e(computed: Computed) -> list[Fact]:
    e = computed.parts["e"]
    if e is None:
        return [Fact("e_none")]
    return [Fact("e_posted" if e > 0 else "e_not_posted", value=e)]


def _group5(computed: Computed, profile: Profile) -> list[Fact]:
    """Rates a and b in words, from the tally the rates are computed from: the raw counters
    counted open petitions within their deadline in the whole and left open ones past it
    out of the late ("1 of 3 on time" beside a rate of 1 of 2; audit)."""
    n = computed.counts
    tally = petition_tally(n, profile)
    facts = []
    if tally.in_authority:
        facts.append(Fact("g5_petitions_on_time", tally.in_authority_on_time, tally.in_authority))
    elif n["petitions_in_authority"]:
        facts.append(Fact("g5_no_petitions_scored"))
    else:
        facts.append(Fact("g5_no_petitions_in_authority"))
    if tally.scored:
        facts.append(Fact("g5_petitions_bad", tally.scored - tally.not_bad, tally.scored))
    elif n["petitions"] and n["petitions_in_authority"] != n["petitions"]:
        facts.append(Fact("g5_no_petitions_scored"))
    if n["resolved"]:
        facts.append(Fact("g5_dossiers_bad", n["c_bad_dossiers"], n["resolved"]))
    return facts


def facts(
    computed: Computed, profile: Profile, inputs: InputsProvenance | None = None
) -> dict[str, list[Fact]]:
    """The facts behind each component, keyed "a".."e" and "group5". `inputs`: who entered
    D and E (the Score's `inputs`)."""
    b, c = _b_c(computed, profile)
    return {
        "a": _a(computed, profile),
        "b": b,
        "c": c,
        "d": _d(computed, inputs or InputsProvenance()),
        "e": _e(computed),
        "group5": _group5(computed, profile),
    }
