"""What each row adds to the day counters, as pure functions of the row and the profile.

Every change to a dossier, response or petition is applied as "subtract what the row
contributed before, add what it contributes now". Live counters, a full recompute and the
reference implementation in the tests all rest on these same few rules.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from service.models import Dossier, Petition, Response
from service.scoring.profile import Profile

# How many supplement requests each answer means (B counts the answer, not the dossier fact).
SUPPLEMENT_ANSWER_COUNT = {"none": 0, "once": 1, "twice_or_more": 2}


class DossierFacts(Protocol):
    """What a dossier's contribution reads: a stored Dossier, or a row about to be written
    (service/handovers/new_dossiers.py builds those without the ORM)."""

    @property
    def agency_id(self) -> int: ...
    @property
    def resolved_day(self) -> date: ...
    @property
    def handling_staff_id(self) -> int | None: ...
    @property
    def supplement_requests(self) -> int: ...
    @property
    def is_late(self) -> bool: ...
    @property
    def overdue_working_days(self) -> int: ...
    @property
    def has_unsatisfied_evaluation(self) -> bool: ...
    @property
    def has_petition(self) -> bool: ...


@dataclass
class Delta:
    """Signed changes to agency-day and staff-day counters."""

    agency: dict[tuple[int, date], Counter[str]] = field(default_factory=dict)
    staff: dict[tuple[int, date], Counter[str]] = field(default_factory=dict)

    def add(self, other: Delta, sign: int = 1) -> None:
        for mine, theirs in ((self.agency, other.agency), (self.staff, other.staff)):
            for key, counts in theirs.items():
                target = mine.setdefault(key, Counter())
                for name, value in counts.items():
                    target[name] += sign * value

    def compact(self) -> Delta:
        """Drop zero changes, so a no-op edit writes nothing."""

        def clean(
            rows: dict[tuple[int, date], Counter[str]],
        ) -> dict[tuple[int, date], Counter[str]]:
            out = {}
            for key, counts in rows.items():
                nonzero = Counter({k: v for k, v in counts.items() if v})
                if nonzero:
                    out[key] = nonzero
            return out

        return Delta(clean(self.agency), clean(self.staff))

    def is_empty(self) -> bool:
        return not self.agency and not self.staff


def is_overdue(dossier: DossierFacts, profile: Profile) -> bool:
    supplement_overdue = (
        profile.k_score.supplements_make_overdue and dossier.supplement_requests >= 2
    )
    return dossier.is_late or supplement_overdue


def a_bucket(dossier: DossierFacts, profile: Profile) -> str:
    rules = profile.k_score
    if dossier.is_late and dossier.overdue_working_days > rules.late_zero_after_working_days:
        return "a_late_over"
    if rules.supplements_make_overdue and dossier.supplement_requests >= 2:
        # 766 counts such a dossier as overdue; it earns nothing for timeliness.
        return "a_late_over"
    if dossier.is_late:
        return "a_late_grace"
    return "a_on_time"


def a_points(dossier: DossierFacts, profile: Profile) -> float:
    rules = profile.k_score
    return {
        "a_on_time": rules.on_time_points,
        "a_late_grace": rules.late_within_grace_points,
        "a_late_over": 0.0,
    }[a_bucket(dossier, profile)]


def c_bad(dossier: DossierFacts, profile: Profile) -> bool:
    return (
        dossier.has_unsatisfied_evaluation or dossier.has_petition or is_overdue(dossier, profile)
    )


def dossier_delta(dossier: DossierFacts, profile: Profile) -> Delta:
    counts = Counter(
        {
            "resolved": 1,
            a_bucket(dossier, profile): 1,
            "c_bad_dossiers": int(c_bad(dossier, profile)),
        }
    )
    delta = Delta(agency={(dossier.agency_id, dossier.resolved_day): counts})
    if dossier.handling_staff_id is not None:  # per-staff A: dossiers the person handled
        staff_counts = Counter({"resolved": 1, a_bucket(dossier, profile): 1})
        delta.staff[(dossier.handling_staff_id, dossier.resolved_day)] = staff_counts
    return delta


def is_unsatisfied(response: Response, profile: Profile) -> bool:
    if response.overall is not None:
        return response.overall in profile.survey.unsatisfied_overall
    return response.staff_attitude in profile.survey.unsatisfied_attitude


def evaluation_staff_id(dossier: Dossier, profile: Profile) -> int | None:
    role = profile.staff.role_for_evaluations
    staff_id: int | None = getattr(dossier, f"{role}_staff_id")
    return staff_id


def response_delta(response: Response, dossier: Dossier, profile: Profile) -> Delta:
    counts: Counter[str] = Counter({"evaluations": 1})
    if response.supplement_requests is not None:
        counts["b_answered"] = 1
        times = SUPPLEMENT_ANSWER_COUNT.get(response.supplement_requests, 2)
        counts["b_points"] = int(times <= profile.k_score.max_supplement_requests_for_point)
    if response.staff_attitude is not None:
        counts["c_answered"] = 1
        counts["c_points"] = int(response.staff_attitude == "good")
    day = response.received_day
    delta = Delta(agency={(response.agency_id, day): counts})
    staff_id = evaluation_staff_id(dossier, profile)
    if staff_id is not None:
        delta.staff[(staff_id, day)] = Counter(counts)
    return delta


def petition_on_time(petition: Petition) -> bool:
    if petition.handled_at is None:
        return False
    return petition.deadline_at is None or petition.handled_at <= petition.deadline_at


def petition_handled_late(petition: Petition) -> bool:
    return (
        petition.handled_at is not None
        and petition.deadline_at is not None
        and petition.handled_at > petition.deadline_at
    )


def petition_bad(petition: Petition) -> bool:
    return (
        petition.citizen_verdict == "unsatisfied"
        or petition.result_complaint
        or petition_handled_late(petition)
    )


def petition_delta(petition: Petition) -> Delta:
    counts = Counter(
        {
            "petitions": 1,
            "petitions_in_authority": int(petition.within_authority),
            "petitions_in_authority_on_time": int(
                petition.within_authority and petition_on_time(petition)
            ),
            "petitions_bad": int(petition_bad(petition)),
        }
    )
    return Delta(agency={(petition.agency_id, petition.received_day): counts})
