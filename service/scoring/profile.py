"""Scoring profiles: every constant of the rules, read from a TOML file and validated."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Literal

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


class StaffRules(_Strict):
    role_for_evaluations: Literal["receiving", "handling", "returning"]
    min_evaluations_for_staff: int = Field(ge=1)


class Answer(_Strict):
    value: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    icon: str
    vi: str
    en: str

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


class Question(_Strict):
    field: Literal["timeliness", "supplement_requests", "staff_attitude", "overall"]
    required: bool
    label: dict[Literal["vi", "en"], str]
    answers: list[Answer] = Field(min_length=2)

    def text(self, lang: str) -> str:
        return self.label.get("en" if lang == "en" else "vi") or self.label["vi"]

    def values(self) -> list[str]:
        return [a.value for a in self.answers]


class Survey(_Strict):
    unsatisfied_overall: list[str]
    unsatisfied_attitude: list[str]
    complaint_max_chars: int = Field(ge=0, le=10000)
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_fields(self) -> Survey:
        fields = [q.field for q in self.questions]
        if len(fields) != len(set(fields)):
            raise ValueError("each question field may appear only once")
        return self

    def question(self, field: str) -> Question | None:
        return next((q for q in self.questions if q.field == field), None)


class Profile(_Strict):
    name: str
    title: str
    k_score: KScore
    group5: Group5
    petitions: Petitions
    staff: StaffRules
    survey: Survey

    def fingerprint(self) -> str:
        """Changes whenever a rule that shapes the counters changes."""
        counted = {
            "k_score": self.k_score.model_dump(),
            "survey": self.survey.model_dump(),
            "staff": self.staff.model_dump(),
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
