"""Scoring profiles: every constant of the rules, read from a TOML file and validated.

Beside the settings, not inside service/scoring: the profile is configuration that every
layer reads (the unit of work carries it; surveys, handovers and petitions take their
questions and deadlines from it), so that scoring can stay above them."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from service.settings import ROOT

PROFILES_DIR = ROOT / "profiles"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KScore(_Strict):
    on_time_points: float = Field(ge=0, le=1)
    late_zero_after_working_days: int = Field(ge=0)
    late_within_grace_points: float = Field(ge=0, le=1)
    no_due_time_is_on_time: bool
    max_supplement_requests_for_point: int = Field(ge=0)
    supplements_make_overdue: bool
    # From how many supplement requests a dossier is overdue, where the profile says so.
    supplements_overdue_from: int = Field(ge=1)
    d_max: float = Field(gt=0)
    e_max: float = Field(gt=0)
    satisfied_threshold: float
    threshold_is_satisfied: bool


class Group5(_Strict):
    points: float = Field(gt=0)
    full_marks_rate: float = Field(gt=0, le=1)
    missing_rate_rule: Literal["scale", "null"]


class Petitions(_Strict):
    handling_deadline_working_days: int = Field(ge=1, le=365)
    # Feedback left in hailong's own survey or kiosk counts in group 5 (and so in D) only
    # when this is true, and then only the items the citizen asked to have answered.
    survey_comments_are_petitions: bool
    # An open petition still within its deadline: left out of rates a and b ("excluded"),
    # or counted as not (yet) handled on time ("counted_not_on_time").
    open_within_deadline: Literal["excluded", "counted_not_on_time"]
    # An open petition past its deadline: handled late from that moment ("late"), or left
    # out until it is handled ("excluded").
    open_after_deadline: Literal["late", "excluded"]


class StaffRules(_Strict):
    role_for_evaluations: Literal["receiving", "handling", "returning"]
    min_evaluations_for_staff: int = Field(ge=1)


class ReachRules(_Strict):
    """When a counter's or staff member's response rate is flagged as far below its agency's
    (slips not handed out): at least `flag_min_issued` invitations, and a rate below
    `flag_below_share` times the agency's rate."""

    flag_min_issued: int = Field(ge=1)
    flag_below_share: float = Field(gt=0, le=1)


class Answer(_Strict):
    value: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    icon: str
    vi: str
    en: str
    # The `supplement_requests` answers only: how many supplement requests the answer means.
    supplements: int | None = Field(default=None, ge=0)

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


# Where an evaluation comes from, for `required_in`: the citizen's phone page, the counter
# kiosk, the JSON API, and the JSON API with an admin key (imports from older systems).
Channel = Literal["phone", "kiosk", "api", "import"]
CHANNELS: tuple[Channel, ...] = ("phone", "kiosk", "api", "import")


class Question(_Strict):
    field: Literal["timeliness", "supplement_requests", "staff_attitude", "overall"]
    # The channels on which an evaluation must answer this question.
    required_in: tuple[Channel, ...]
    label: dict[Literal["vi", "en"], str]
    answers: list[Answer] = Field(min_length=2)

    @model_validator(mode="before")
    @classmethod
    def _required_shorthand(cls, data: Any) -> Any:
        """`required = true` (profiles written before `required_in`): required on every
        channel where a citizen answers, not on imports."""
        if isinstance(data, dict) and "required" in data and "required_in" not in data:
            data = dict(data)
            data["required_in"] = ["phone", "kiosk", "api"] if data.pop("required") else []
        return data

    @model_validator(mode="after")
    def _supplement_counts(self) -> Question:
        counted = [a.value for a in self.answers if a.supplements is not None]
        if self.field == "supplement_requests" and len(counted) != len(self.answers):
            raise ValueError(
                "every answer of supplement_requests needs `supplements`: how many supplement "
                "requests it means"
            )
        # In CHANNELS order, each once: the profile's fingerprint must not depend on order.
        object.__setattr__(self, "required_in", tuple(c for c in CHANNELS if c in self.required_in))
        if self.field != "supplement_requests" and counted:
            raise ValueError(f"only supplement_requests answers take `supplements` ({counted})")
        values = self.values()
        if len(values) != len(set(values)):
            raise ValueError("each answer value may appear only once")
        return self

    def required_on(self, channel: Channel) -> bool:
        return channel in self.required_in

    def text(self, lang: str) -> str:
        return self.label.get("en" if lang == "en" else "vi") or self.label["vi"]

    def values(self) -> list[str]:
        return [a.value for a in self.answers]


class Survey(_Strict):
    unsatisfied_overall: list[str]
    unsatisfied_attitude: list[str]
    # The staff_attitude answers that earn component C's point.
    good_attitude: list[str] = Field(min_length=1)
    complaint_max_chars: int = Field(ge=0, le=10000)
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_fields(self) -> Survey:
        fields = [q.field for q in self.questions]
        if len(fields) != len(set(fields)):
            raise ValueError("each question field may appear only once")
        return self

    @model_validator(mode="after")
    def _rules_name_real_answers(self) -> Survey:
        """A rule naming an answer the questionnaire does not offer would silently score
        nothing (say, an answer renamed in one place): refuse the profile instead."""
        named = {
            "unsatisfied_overall": ("overall", self.unsatisfied_overall),
            "unsatisfied_attitude": ("staff_attitude", self.unsatisfied_attitude),
            "good_attitude": ("staff_attitude", self.good_attitude),
        }
        for rule, (field, values) in named.items():
            question = self.question(field)
            offered = question.values() if question else []
            unknown = [v for v in values if v not in offered]
            if unknown:
                raise ValueError(
                    f"{rule} names {unknown}, which the question '{field}' does not offer "
                    f"(its answers: {offered})"
                )
        for field in ("supplement_requests", "staff_attitude"):
            if self.question(field) is None:
                raise ValueError(f"the question '{field}' is needed: components B and C read it")
        return self

    def supplement_count(self, answer: str) -> int | None:
        """How many supplement requests an answer means (None: not an answer offered)."""
        question = self.question("supplement_requests")
        assert question is not None  # checked when the profile loads
        return next((a.supplements for a in question.answers if a.value == answer), None)

    def question(self, field: str) -> Question | None:
        return next((q for q in self.questions if q.field == field), None)


class ReportRules(_Strict):
    """What the quarterly report (service/reports) singles out."""

    staff_below_rate: float = Field(ge=0, le=1)


class AlertRules(_Strict):
    """Alerts before the ranking (service/alerts): the defaults of each rule, which an
    agency may override. Rule (a), K below the group threshold, takes its threshold from
    `k_score.satisfied_threshold`."""

    # The period the rules watch: the one the agency is ranked on.
    period: Literal["month", "quarter", "year"]
    # (b) A staff member's C lower than in the previous period by at least this much, both
    # periods with the anonymity minimum (`staff.min_evaluations_for_staff`) of answers.
    staff_c_drop: float = Field(gt=0, le=1)
    # (c) An unanswered petition this many working days or fewer before its deadline.
    petition_deadline_working_days: int = Field(ge=0, le=30)
    # (d) The agency's response rate below this floor, once it issued this many invitations.
    response_rate_floor: float = Field(ge=0, le=1)
    response_rate_min_issued: int = Field(ge=1)


class Profile(_Strict):
    name: str
    title: str
    k_score: KScore
    group5: Group5
    petitions: Petitions
    staff: StaffRules
    reach: ReachRules
    report: ReportRules
    alerts: AlertRules
    survey: Survey

    def b_point_answers(self) -> list[str]:
        """The supplement_requests answers that earn component B's point."""
        question = self.survey.question("supplement_requests")
        assert question is not None and all(a.supplements is not None for a in question.answers)
        limit = self.k_score.max_supplement_requests_for_point
        return [a.value for a in question.answers if (a.supplements or 0) <= limit]

    def supplements_overdue_from(self) -> int | None:
        """Supplement requests from which a dossier counts as overdue (None: never)."""
        rules = self.k_score
        return rules.supplements_overdue_from if rules.supplements_make_overdue else None

    def fingerprint(self) -> str:
        """Changes whenever a rule that shapes the counters changes."""
        counted = {
            "k_score": self.k_score.model_dump(),
            "survey": self.survey.model_dump(mode="json"),
            "staff": self.staff.model_dump(),
            "petitions": self.petitions.survey_comments_are_petitions,
        }
        return hashlib.sha256(json.dumps(counted, sort_keys=True).encode()).hexdigest()


class ProfileError(Exception):
    """A profile that cannot be used; the message names the file and the bad key."""


def profile_path(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml":
        return candidate
    return PROFILES_DIR / f"{name_or_path}.toml"


def load_profile(name_or_path: str) -> Profile:
    path = profile_path(name_or_path)
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.toml")))
        raise ProfileError(
            f"scoring profile '{name_or_path}' not found ({path}); shipped profiles: {shipped}"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"scoring profile {path} is not valid TOML: {exc}") from None
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ProfileError(f"scoring profile {path} is invalid: {problems}") from None
