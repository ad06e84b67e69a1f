"""What each row adds to the day counters, as pure functions of the row and the profile.

Every change to a dossier, response or petition is applied as "subtract what the row
contributed before, add what it contributes now". Live counters, a full recompute and the
reference implementation in the tests all rest on these same few rules.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from service.calendar.working_days import local_date
from service.models import Dossier, Petition, Response
from service.profile import Profile, Tt01Profile


class DossierFacts(Protocol):
    """What a dossier's contribution reads: a stored Dossier, or a row about to be written
    (service/handovers/new_dossiers.py builds those without the ORM)."""

    @property
    def agency_id(self) -> int: ...
    @property
    def resolved_day(self) -> date: ...
    @property
    def resolved_at(self) -> datetime: ...
    @property
    def due_at(self) -> datetime | None: ...
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


def supplements_overdue(dossier: DossierFacts, profile: Profile) -> bool:
    """Overdue by its supplement requests alone (766), where the profile says so."""
    threshold = profile.supplements_overdue_from()
    return threshold is not None and dossier.supplement_requests >= threshold


def is_overdue(dossier: DossierFacts, profile: Profile) -> bool:
    return dossier.is_late or supplements_overdue(dossier, profile)


def a_bucket(dossier: DossierFacts, profile: Profile) -> str:
    rules = profile.k_score
    if dossier.is_late and dossier.overdue_working_days > rules.late_zero_after_working_days:
        return "a_late_over"
    if supplements_overdue(dossier, profile):
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
    if profile.also is not None:
        counts["tt_time_points"] = tt01_time_points(dossier, profile.also)
    delta = Delta(agency={(dossier.agency_id, dossier.resolved_day): counts})
    if dossier.handling_staff_id is not None:  # per-staff A: dossiers the person handled
        staff_counts = Counter({"resolved": 1, a_bucket(dossier, profile): 1})
        if profile.also is not None:
            staff_counts["tt_time_points"] = counts["tt_time_points"]
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


def b_point(response: Response, profile: Profile) -> int | None:
    """Component B's point of an evaluation (None: the question was not answered). B counts
    the citizen's answer, not the dossier's recorded supplement requests."""
    if response.supplement_requests is None:
        return None
    return int(response.supplement_requests in profile.b_point_answers())


def c_point(response: Response, profile: Profile) -> int | None:
    """Component C's point of an evaluation (None: the question was not answered)."""
    if response.staff_attitude is None:
        return None
    return int(response.staff_attitude in profile.survey.good_attitude)


def response_delta(response: Response, dossier: Dossier, profile: Profile) -> Delta:
    counts: Counter[str] = Counter({"evaluations": 1})
    if (b := b_point(response, profile)) is not None:
        counts["b_answered"], counts["b_points"] = 1, b
    if (c := c_point(response, profile)) is not None:
        counts["c_answered"], counts["c_points"] = 1, c
    if profile.also is not None:
        counts.update(tt01_answer_points(response, profile))
    day = response.received_day
    delta = Delta(agency={(response.agency_id, day): counts})
    staff_id = evaluation_staff_id(dossier, profile)
    if staff_id is not None:
        delta.staff[(staff_id, day)] = Counter(counts)
    return delta


# --- TT 01/2018 (profiles/tt-01-2018.toml), where that profile is computed beside ---------


def tt01_time_points(dossier: DossierFacts, rules: Tt01Profile) -> int:
    """Indicators 1 and 2 of a resolved dossier: before its due day, by its due time, late."""
    time = rules.time
    if dossier.due_at is None:
        return time.no_due_time_points
    if dossier.is_late:
        return time.late_points
    if local_date(dossier.resolved_at) < local_date(dossier.due_at):
        return time.early_points
    return time.on_time_points


def has_complaint(response: Response) -> bool:
    """The citizen wrote a complaint with the evaluation (stored stripped, or None)."""
    return bool(response.complaint)


def tt01_answer_points(response: Response, profile: Profile) -> Counter[str]:
    """Indicators 3, 4 and 7 of an evaluation (an unanswered question adds nothing; 3 and 7
    are counted over B's and C's answers)."""
    rules = profile.also
    assert rules is not None
    points: Counter[str] = Counter()
    if response.supplement_requests is not None:
        supplements = profile.survey.supplement_count(response.supplement_requests)
        if supplements is not None:
            points["tt_returns_points"] = rules.returns_points_for(supplements)
    if response.agencies_contacted is not None:
        points["tt_contacts_answered"] = 1
        points["tt_contacts_points"] = rules.contacts_points.get(response.agencies_contacted, 0)
    if response.staff_attitude is not None:
        attitude = rules.attitude_points.get(response.staff_attitude, 0)
        if has_complaint(response):
            attitude = min(attitude, rules.attitude_with_complaint_max)
        points["tt_attitude_points"] = attitude
    return points


def counts_in_group5(petition: Petition, profile: Profile) -> bool:
    """Whether a petition or feedback item counts in group 5 (and so in D). D rests on the
    national petition channel alone (104/2024, appendix, Chỉ số 4: "01 kênh duy nhất"):
    imports count; feedback left in hailong's survey or kiosk counts only where the profile
    says so, and then only when the citizen asked for an answer."""
    if petition.source != "survey":
        return True
    return profile.petitions.survey_comments_are_petitions and petition.kind == "petition"


def petition_bad_when_handled(petition: Petition) -> bool:
    """Against rate b once handled: an unsatisfied verdict, a result complaint, or late."""
    return (
        petition.citizen_verdict == "unsatisfied"
        or petition.result_complaint
        or petition.handled_late
    )


def petition_delta(petition: Petition, profile: Profile) -> Delta:
    """What a petition adds to its received day. An open one is counted apart
    (`petitions_open*`): whether it is late depends on the moment a score is read, so
    reading adds the overdue ones (service/scoring/aging.py) and no counter has to move
    when a deadline passes."""
    if not counts_in_group5(petition, profile):
        return Delta()
    handled = petition.handled_at is not None
    counts = Counter(
        {
            "petitions": 1,
            "petitions_in_authority": int(petition.within_authority),
            "petitions_in_authority_on_time": int(
                petition.within_authority and petition.handled_on_time
            ),
            "petitions_bad": int(handled and petition_bad_when_handled(petition)),
            "petitions_open": int(not handled),
            "petitions_open_in_authority": int(not handled and petition.within_authority),
        }
    )
    return Delta(agency={(petition.agency_id, petition.received_day): counts})


# --- a petition at a given moment (explain, the console, the follow-up page) ---------------


def petition_state(petition: Petition, now: datetime) -> str:
    """'on_time' | 'late' (handled late, or open past its deadline) | 'open' (within its
    deadline, or without one)."""
    if petition.handled_at is not None:
        return "late" if petition.handled_late else "on_time"
    if petition.deadline_at is not None and petition.deadline_at < now:
        return "late"  # (handled at the deadline itself would still be on time)
    return "open"


def petition_scored(petition: Petition, profile: Profile, now: datetime) -> bool:
    """Whether the petition is in rates a and b at `now` (group5() reads the same rule)."""
    if not counts_in_group5(petition, profile):
        return False
    state = petition_state(petition, now)
    if petition.handled_at is not None:
        return True
    rules = profile.petitions
    if state == "late":
        return rules.open_after_deadline == "late"
    return rules.open_within_deadline == "counted_not_on_time"


def petition_against_group5(petition: Petition, profile: Profile, now: datetime) -> bool:
    """Against rate b at `now`."""
    if not petition_scored(petition, profile, now):
        return False
    if petition.handled_at is None:
        return petition_state(petition, now) == "late"
    return petition_bad_when_handled(petition)
