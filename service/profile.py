"""Scoring profiles: every constant of the rules, read from a TOML file and validated.

Beside the settings, not inside service/scoring: the profile is configuration that every
layer reads (the unit of work carries it; surveys, handovers and petitions take their
questions and deadlines from it), so that scoring can stay above them."""

from __future__ import annotations

import hashlib
import json
import tomllib
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from service.calendar.working_days import national_fingerprint
from service.models.response import COMPLAINT_MAX_CHARS
from service.settings import ROOT, Settings

PROFILES_DIR = ROOT / "profiles"


class _Strict(BaseModel):
    # No inf or nan (pydantic takes them by default): `d_max = inf` or `at_least = inf` made
    # every score read a 500, a nan threshold left every K unsatisfied (audit).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class KScore(_Strict):
    on_time_points: float = Field(ge=0, le=1)
    late_zero_after_working_days: int = Field(ge=0)
    late_within_grace_points: float = Field(ge=0, le=1)
    # The only reading the scoring implements (scoring/events.py, contributions.py,
    # sql_rules.py: no due time, never late). `false` was accepted and changed nothing; what
    # it should mean (late? left out of A?) is for the rules' owner to say first.
    no_due_time_is_on_time: Literal[True]
    max_supplement_requests_for_point: int = Field(ge=0)
    # B's and C's point per evaluation (the text's "1 điểm"), as A's `on_time_points`.
    few_supplements_points: float = Field(ge=0, le=1)
    good_attitude_points: float = Field(ge=0, le=1)
    # An evaluation that left B's or C's question unanswered (only an import of an older
    # system's evaluations can): out of that component's "evaluations" ("not_counted"), or
    # counted with 0 points ("zero_points").
    unanswered_question: Literal["not_counted", "zero_points"]
    supplements_make_overdue: bool
    # From how many supplement requests a dossier is overdue, where the profile says so.
    supplements_overdue_from: int = Field(ge=1)
    d_max: float = Field(gt=0)
    # E is all or nothing (104/2024: "0 or 1"): 0 or e_max, stored as a whole number.
    e_max: float = Field(gt=0)
    satisfied_threshold: float
    threshold_is_satisfied: bool

    @field_validator("e_max")
    @classmethod
    def _e_is_whole(cls, value: float) -> float:
        # A float in the file, as it always was: the fingerprint (rebuilds) stays the same.
        if not value.is_integer():
            raise ValueError("E is 0 or e_max, a whole number (its column is one)")
        return value

    @model_validator(mode="after")
    def _grace_within_on_time(self) -> KScore:
        """A's maximum is `on_time_points` (maxima, k_max, the threshold check): a dossier a
        few working days late earning more than one on time made A exceed it, and a late
        agency outscore a punctual one (audit). Checked before the threshold, which rests on
        that maximum."""
        if self.late_within_grace_points > self.on_time_points:
            raise ValueError(
                f"late_within_grace_points = {self.late_within_grace_points:g} is more than "
                f"on_time_points = {self.on_time_points:g}: a dossier handled late may earn "
                "at most what one handled on time earns (A's maximum)"
            )
        return self

    @model_validator(mode="after")
    def _threshold_within_k(self) -> KScore:
        """A threshold beyond K's range put every agency in one group, whatever its score
        (audit)."""
        if not 0 <= self.satisfied_threshold <= self.k_max():
            raise ValueError(
                f"satisfied_threshold = {self.satisfied_threshold:g} is outside what K can be "
                f"(0 to {self.k_max():g}, the sum of the components' maxima)"
            )
        return self

    def maxima(self) -> dict[str, float]:
        """The most each component of K can be."""
        return {
            "a": self.on_time_points,
            "b": self.few_supplements_points,
            "c": self.good_attitude_points,
            "d": self.d_max,
            "e": self.e_max,
        }

    def k_max(self) -> float:
        """The most K can be (22 under 104/2024)."""
        return sum(self.maxima().values())


class Group5(_Strict):
    points: float = Field(gt=0)
    full_marks_rate: float = Field(gt=0, le=1)
    missing_rate_rule: Literal["scale", "null"]

    def maximum(self) -> float:
        """The most the group can score: each of its three rates worth `points`."""
        return self.points * 3


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


# The answer columns of an evaluation (service/models/response.py): a question asks one.
QuestionField = Literal[
    "timeliness", "supplement_requests", "staff_attitude", "overall", "agencies_contacted"
]


class Question(_Strict):
    field: QuestionField
    # The channels on which an evaluation must answer this question.
    required_in: tuple[Channel, ...]
    label: dict[Literal["vi", "en"], str]
    answers: list[Answer] = Field(min_length=2)

    @field_validator("label")
    @classmethod
    def _vietnamese_label(
        cls, label: dict[Literal["vi", "en"], str]
    ) -> dict[Literal["vi", "en"], str]:
        # Vietnamese first: every page falls back to it, so a label without one made the
        # citizen's survey page a 500 (audit). Checked, not remodelled: the dump (and with
        # it the fingerprint) stays as it was.
        if not label.get("vi", "").strip():
            raise ValueError('needs its Vietnamese text: label = { vi = "...", en = "..." }')
        return label

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
    # At most what the response's column stores (models/response.py).
    complaint_max_chars: int = Field(ge=0, le=COMPLAINT_MAX_CHARS)
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


# The petition-deadline alert's largest threshold, in working days (a profile's and an
# agency's own): the alerts read the open petitions due within it (alerts/evaluate.py).
PETITION_ALERT_MAX_WORKING_DAYS = 30


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
    petition_deadline_working_days: int = Field(ge=0, le=PETITION_ALERT_MAX_WORKING_DAYS)
    # (d) The agency's response rate below this floor, once it issued this many invitations.
    response_rate_floor: float = Field(ge=0, le=1)
    response_rate_min_issued: int = Field(ge=1)
    # Only invitations issued at least this many days ago are judged (a citizen has the
    # survey's lifetime to answer: those of this morning are not unanswered yet).
    response_rate_settle_days: int = Field(ge=0, le=30)


# --- Thông tư 01/2018/TT-VPCP: nine indicators of 0..2 points ------------------------------

# The indicators in the circular's order (service/scoring/tt01.py says where each comes from).
TT01_INDICATORS = (
    "total_time",  # 1. total resolution time against the legal limit
    "agency_time",  # 2. the time each agency taking part took
    "returns_to_complete",  # 3. times the citizen came back to complete the file
    "agencies_contacted",  # 4. agencies the citizen had to contact to complete it
    "desk_organisation",  # 5. how the one-stop desk receives and returns (entered)
    "public_posting",  # 6. public posting of the procedure (entered)
    "staff_attitude",  # 7. staff attitude, with and without a complaint
    "petitions_on_time",  # 8. petitions and recommendations answered on time
    "online_services",  # 9. online public services offered (entered)
)
Tt01Key = Literal[
    "total_time",
    "agency_time",
    "returns_to_complete",
    "agencies_contacted",
    "desk_organisation",
    "public_posting",
    "staff_attitude",
    "petitions_on_time",
    "online_services",
]
# The indicators the competent authority enters per agency and period (like E).
TT01_ENTERED: tuple[Tt01Key, ...] = ("desk_organisation", "public_posting", "online_services")


class Tt01Indicator(_Strict):
    key: Tt01Key
    vi: str
    en: str

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


class Tt01Class(_Strict):
    """A class of the total: from `at_least` points up to the next class's `at_least`."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    at_least: float = Field(ge=0)
    vi: str
    en: str


class Tt01Time(_Strict):
    """Indicators 1 and 2, per resolved dossier."""

    early_points: int = Field(ge=0)  # resolved on a day before its due day
    on_time_points: int = Field(ge=0)  # resolved on its due day, by its due time
    late_points: int = Field(ge=0)
    no_due_time_points: int = Field(ge=0)
    # Indicator 2 is the time of each agency that took part. A handover names one agency, the
    # one that resolved the dossier: its time is the dossier's.
    agency_time: Literal["as_total_time"]


class Tt01Petitions(_Strict):
    """Indicator 8, per petition within the agency's authority (the group-5 rules decide
    which petitions count and when an open one is late)."""

    on_time_points: int = Field(ge=0)
    late_points: int = Field(ge=0)  # handled after its deadline
    open_late_points: int = Field(ge=0)  # still open past its deadline
    none_points: int = Field(ge=0)  # an agency (or dossier) with no petition


# A point of TT 01/2018 is never negative: a total below the lowest class's bound (0) has no
# class, and classify raised (a 500 on the score API) for it (audit).
Tt01Point = Annotated[int, Field(ge=0)]


class Tt01Profile(_Strict):
    name: str
    title: str
    scoring: Literal["tt01"]
    max_points: int = Field(gt=0)  # of each indicator
    indicators: list[Tt01Indicator]
    classes: list[Tt01Class] = Field(min_length=1)
    # The period whose entered indicators (5, 6, 9) a single dossier's score takes.
    dossier_inputs_period: Literal["month", "quarter", "year"]
    time: Tt01Time
    # Indicator 3: points by the supplement requests the citizen's answer means (the last
    # entry for that many or more).
    returns_points: list[Tt01Point] = Field(min_length=1)
    # Indicators 4 and 7: points of each answer of the question they read.
    contacts_points: dict[str, Tt01Point]
    attitude_points: dict[str, Tt01Point]
    # Indicator 7 of an evaluation that came with a complaint: at most this many points.
    attitude_with_complaint_max: int = Field(ge=0)
    petitions: Tt01Petitions
    # Questions the citizen is asked for this scoring, after the main profile's own.
    questions: list[Question] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Tt01Profile:
        keys = [i.key for i in self.indicators]
        if tuple(keys) != TT01_INDICATORS:
            raise ValueError(f"indicators: the circular's nine, in order: {TT01_INDICATORS}")
        # Each point by its dotted key, in the file's order: the message names the first one
        # too high, not just the rule (twenty keys to guess from, audit).
        points = {
            **{f"time.{k}": v for k, v in self.time.model_dump(exclude={"agency_time"}).items()},
            **{f"returns_points.{i}": v for i, v in enumerate(self.returns_points)},
            **{f"contacts_points.{k}": v for k, v in self.contacts_points.items()},
            **{f"attitude_points.{k}": v for k, v in self.attitude_points.items()},
            "attitude_with_complaint_max": self.attitude_with_complaint_max,
            **{f"petitions.{k}": v for k, v in self.petitions.model_dump().items()},
        }
        too_high = next((k for k, v in points.items() if v > self.max_points), None)
        if too_high is not None:
            raise ValueError(
                f"{too_high} = {points[too_high]}: no indicator may score more than "
                f"max_points ({self.max_points})"
            )
        return self

    @model_validator(mode="after")
    def _classes_cover_the_totals(self) -> Tt01Profile:
        bounds = [c.at_least for c in self.classes]
        if bounds != sorted(bounds, reverse=True) or len(set(bounds)) != len(bounds):
            raise ValueError("classes go from the highest `at_least` down, each bound once")
        if bounds[-1] != 0:
            # Every total has a class: no gap below the lowest bound (nor between classes,
            # since each class runs up to the next one's bound).
            raise ValueError("the lowest class must start at 0 (at_least = 0)")
        if bounds[0] > self.total_max():
            # A class no total can reach: its agencies silently land in the one below (audit).
            raise ValueError(
                f"classes: the highest at_least ({bounds[0]:g}) is more than a total can be "
                f"(max_points × 9 = {self.total_max()})"
            )
        keys = [c.key for c in self.classes]
        if len(set(keys)) != len(keys):
            # A class is reported and stored by its key: two alike could not be told apart.
            raise ValueError(f"classes: each key once ({keys})")
        return self

    def total_max(self) -> int:
        return self.max_points * len(self.indicators)

    def classify(self, total: Fraction) -> Tt01Class:
        """The first class from the top whose bound the total reaches, compared exactly
        (14.99 is not 15)."""
        return next(c for c in self.classes if total >= Fraction(Decimal(str(c.at_least))))

    def answer_points(self) -> dict[str, dict[str, int]]:
        return {"agencies_contacted": self.contacts_points, "staff_attitude": self.attitude_points}

    def returns_points_for(self, supplements: int) -> int:
        return self.returns_points[min(supplements, len(self.returns_points) - 1)]

    def counted(self) -> dict[str, Any]:
        """The rules the day counters hold (Profile.fingerprint)."""
        return self.model_dump(
            include={
                "time",
                "returns_points",
                "contacts_points",
                "attitude_points",
                "attitude_with_complaint_max",
            }
        )


# The parts of a profile that no score reads (Profile.rules_fingerprint).
NOT_IN_SCORES = {"title", "alerts", "report", "reach"}


class Profile(_Strict):
    name: str
    title: str
    # Which scoring the file defines. A TT 01/2018 profile (tt01.py) is computed beside this
    # one (`HAILONG_SCORING_PROFILE_ALSO`), never instead of it.
    scoring: Literal["k_score"] = "k_score"
    k_score: KScore
    group5: Group5
    petitions: Petitions
    staff: StaffRules
    reach: ReachRules
    report: ReportRules
    alerts: AlertRules
    survey: Survey
    # The TT 01/2018 profile computed beside this one, if any (with_also below).
    also: Tt01Profile | None = None

    @model_validator(mode="after")
    def _group5_fits_in_d(self) -> Profile:
        """D is group 5's score when none is imported (compute.py): a group worth more
        than d_max made D, and K, exceed their maxima (rules audit)."""
        if self.group5.maximum() > self.k_score.d_max:
            raise ValueError(
                f"group5: its most, points × 3 = {self.group5.maximum():g}, becomes D when "
                f"no D is imported, and D is at most k_score.d_max = {self.k_score.d_max:g}"
            )
        return self

    def with_also(self, also: Tt01Profile) -> Profile:
        """This profile with `also` computed beside it: its questions join the citizen's
        questionnaire (after this profile's own), and its rules must name answers that the
        joined questionnaire offers."""
        if not also.name.strip() or also.name == self.name:
            # The score API tells the two scorings apart by name (profile=...): named as
            # this one, the TT 01 scores could never be read (audit).
            raise ValueError(
                f"name = '{also.name}': a TT 01/2018 profile needs a name of its own, not "
                f"empty and not '{self.name}' (the profile it is computed beside)"
            )
        data = self.model_dump(mode="json")
        known = {q["field"] for q in data["survey"]["questions"]}
        extra = [q.model_dump(mode="json") for q in also.questions if q.field not in known]
        data["survey"]["questions"] += extra
        data["also"] = also.model_dump(mode="json")
        merged = Profile.model_validate(data)
        merged.also_rules_check()
        return merged

    def also_rules_check(self) -> None:
        if self.also is None:
            return
        for field, points in self.also.answer_points().items():
            question = self.survey.question(field)
            if question is None:
                # Without it the indicator is never scored: every total would stay
                # "chua_du_du_lieu" for ever (audit).
                raise ValueError(
                    f"{self.also.name}: the question '{field}' is needed (its answers score "
                    f"indicator {TT01_INDICATORS.index(field) + 1}): add it to [[questions]], "
                    "and its answers' points"
                )
            offered = question.values()
            unknown = sorted(set(offered) ^ set(points))
            if unknown:
                raise ValueError(
                    f"{self.also.name}: the points of '{field}' must name each answer the "
                    f"questionnaire offers, once ({offered}); these do not match: {unknown}"
                )

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
        """Changes whenever a rule that shapes the counters changes, the national calendar
        of working days included (calendar/working_days.py)."""
        counted = {
            "calendar": national_fingerprint(),
            "k_score": self.k_score.model_dump(),
            "survey": self.survey.model_dump(mode="json"),
            "staff": self.staff.model_dump(),
            "petitions": self.petitions.survey_comments_are_petitions,
            # Only what the TT 01/2018 counters hold (its names and classes do not).
            "also": self.also.counted() if self.also else None,
        }
        return hashlib.sha256(json.dumps(counted, sort_keys=True).encode()).hexdigest()

    def rules_fingerprint(self) -> str:
        """Changes whenever a rule that a score carries changes: the counted ones, and also
        what is read only when a score is read (group 5's points and rates, how open
        petitions count, TT 01's classes and names) and so rebuilds nothing, but still
        moves scores. Not the alerts, the report's layout, the response-rate flags or the
        title: no score moves with them, and each change announced every score (review)."""
        scored = self.model_dump(mode="json", exclude=NOT_IN_SCORES)
        return hashlib.sha256(json.dumps(scored, sort_keys=True).encode()).hexdigest()


class ProfileError(Exception):
    """A profile that cannot be used; the message names the file and the bad key."""


def profile_path(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml":
        return candidate
    return PROFILES_DIR / f"{name_or_path}.toml"


def _read(name_or_path: str) -> tuple[Path, dict[str, Any]]:
    path = profile_path(name_or_path)
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.toml")))
        raise ProfileError(
            f"scoring profile '{name_or_path}' not found ({path}); shipped profiles: {shipped}"
        )
    try:
        # utf-8-sig: Windows Notepad's "UTF-8" begins with a byte-order mark, which TOML
        # refused as not valid.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        # Saved by a Windows editor as UTF-16 or Windows-1258: refused, not a traceback (audit).
        raise ProfileError(
            f"scoring profile {path} must be UTF-8 text: save it again with the encoding UTF-8"
        ) from None
    except OSError as exc:
        raise ProfileError(f"scoring profile {path} cannot be read: {exc.strerror}") from None
    try:
        return path, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"scoring profile {path} is not valid TOML: {exc}") from None


def _problems(exc: ValidationError) -> str:
    # A check of the whole file has no location of its own: its message names the keys.
    return "; ".join(
        ": ".join(filter(None, (".".join(str(p) for p in e["loc"]), e["msg"])))
        for e in exc.errors()
    )


def load_profile(name_or_path: str, also: str | None = None) -> Profile:
    """The profile that scores (K), with the TT 01/2018 profile `also` computed beside it."""
    path, data = _read(name_or_path)
    if data.get("scoring") == "tt01":
        raise ProfileError(
            f"scoring profile {path} is a TT 01/2018 profile, computed beside a K-score "
            f"profile: set HAILONG_SCORING_PROFILE_ALSO={name_or_path} and keep "
            "HAILONG_SCORING_PROFILE on a K-score profile (hcmc-104-2024, vn-766)"
        )
    if "also" in data:
        # `also` is what with_also sets: written in the file, it skipped with_also's question
        # and its checks, and indicator 4 was never asked (audit).
        raise ProfileError(
            f"scoring profile {path}: remove its `also` table; a TT 01/2018 profile is "
            "computed beside it from a file of its own, named by "
            "HAILONG_SCORING_PROFILE_ALSO (tt-01-2018)"
        )
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(f"scoring profile {path} is invalid: {_problems(exc)}") from None
    if also is None:
        return profile
    also_path, also_data = _read(also)
    if also_data.get("scoring") != "tt01":
        raise ProfileError(
            f'HAILONG_SCORING_PROFILE_ALSO takes a TT 01/2018 profile (scoring = "tt01"); '
            f"{also_path} is not one"
        )
    try:
        return profile.with_also(Tt01Profile.model_validate(also_data))
    except ValidationError as exc:
        raise ProfileError(f"scoring profile {also_path} is invalid: {_problems(exc)}") from None
    except ValueError as exc:
        raise ProfileError(f"scoring profile {also_path} does not fit {path}: {exc}") from None


def profile_of(settings: Settings) -> Profile:
    """The profile a service with these settings scores with."""
    return load_profile(settings.scoring_profile, settings.scoring_profile_also)
