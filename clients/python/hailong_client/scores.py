"""Records for scores, rankings and explanations (per-staff scores: `staff`; TT 01/2018's
scores: `tt01`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from hailong_client._json import JSON, to_datetime, to_datetime_or_none, to_float_or_none
from hailong_client.staff import StaffScore, StaffScores  # here before: kept importable

T = TypeVar("T")


@dataclass(frozen=True)
class Group5:
    """Group 5 (petitions and satisfaction), from which D can be derived."""

    score: float | None
    petitions_on_time_rate: float | None
    petitions_satisfied_rate: float | None
    dossiers_satisfied_rate: float | None

    @classmethod
    def from_json(cls, body: JSON) -> Group5:
        return cls(
            score=to_float_or_none(body.get("score")),
            petitions_on_time_rate=to_float_or_none(body.get("petitions_on_time_rate")),
            petitions_satisfied_rate=to_float_or_none(body.get("petitions_satisfied_rate")),
            dossiers_satisfied_rate=to_float_or_none(body.get("dossiers_satisfied_rate")),
        )


@dataclass(frozen=True)
class Counts:
    resolved_dossiers: int
    evaluations: int
    petitions: int

    @classmethod
    def from_json(cls, body: JSON) -> Counts:
        return cls(
            resolved_dossiers=int(body["resolved_dossiers"]),
            evaluations=int(body["evaluations"]),
            petitions=int(body["petitions"]),
        )


@dataclass(frozen=True)
class InputEntry:
    """Who entered a value by hand (D, E, or TT 01's indicators 5, 6, 9), and when."""

    set_by: str  # the key (or the official) that entered it
    set_at: datetime

    @classmethod
    def from_json(cls, body: JSON) -> InputEntry:
        return cls(set_by=body["set_by"], set_at=to_datetime(body["set_at"]))

    @classmethod
    def from_json_or_none(cls, body: JSON | None) -> InputEntry | None:
        return None if body is None else cls.from_json(body)


@dataclass(frozen=True)
class Inputs:
    """Who entered D and E, and when; None for a value nobody entered (then D, if any, is
    computed from group 5: see `Score.d_source`)."""

    d: InputEntry | None = None
    e: InputEntry | None = None

    @classmethod
    def from_json(cls, body: JSON | None) -> Inputs:
        body = body or {}
        return cls(
            d=InputEntry.from_json_or_none(body.get("d")),
            e=InputEntry.from_json_or_none(body.get("e")),
        )


@dataclass(frozen=True)
class Score:
    """One agency's score for a period; also each entry of a ranking (see `rank`).

    Fractions are exact (not rounded). `group` is `hai_long`, `khong_hai_long` or
    `chua_du_du_lieu`; `missing` lists the components (`a`...`e`) without data, and
    K lies between `k_min` and `k_max` whatever they turn out to be.
    """

    agency_code: str
    agency_name: str
    period: str
    profile: str
    a: float | None
    b: float | None
    c: float | None
    d: float | None
    e: float | None
    k: float | None
    group: str
    k_min: float
    k_max: float
    missing: list[str]
    rank: int | None  # among siblings by K; ties share a rank
    d_source: str | None  # "imported", "group5" or None
    group5: Group5
    counts: Counts
    computed_at: datetime
    # Who entered D and E, and when (empty from a server that does not say).
    inputs: Inputs = field(default_factory=Inputs)

    @classmethod
    def from_json(cls, body: JSON) -> Score:
        return cls(
            agency_code=body["agency_code"],
            agency_name=body["agency_name"],
            period=body["period"],
            profile=body["profile"],
            a=to_float_or_none(body.get("a")),
            b=to_float_or_none(body.get("b")),
            c=to_float_or_none(body.get("c")),
            d=to_float_or_none(body.get("d")),
            e=to_float_or_none(body.get("e")),
            k=to_float_or_none(body.get("k")),
            group=body["group"],
            k_min=float(body["k_min"]),
            k_max=float(body["k_max"]),
            missing=list(body.get("missing", [])),
            rank=body.get("rank"),
            d_source=body.get("d_source"),
            group5=Group5.from_json(body["group5"]),
            counts=Counts.from_json(body["counts"]),
            computed_at=to_datetime(body["computed_at"]),
            inputs=Inputs.from_json(body.get("inputs")),
        )


@dataclass(frozen=True)
class DossierRow:
    """A resolved dossier behind A: how late it was and the points it earned."""

    dossier_code: str
    resolved_at: datetime
    due_at: datetime | None
    overdue_working_days: int
    bucket: str  # on_time, late_within_grace, late_over
    points: float
    counts_against_group5: bool

    @classmethod
    def from_json(cls, body: JSON) -> DossierRow:
        return cls(
            dossier_code=body["dossier_code"],
            resolved_at=to_datetime(body["resolved_at"]),
            due_at=to_datetime_or_none(body.get("due_at")),
            overdue_working_days=int(body["overdue_working_days"]),
            bucket=body["bucket"],
            points=float(body["points"]),
            counts_against_group5=bool(body["counts_against_group5"]),
        )


@dataclass(frozen=True)
class EvaluationRow:
    """A citizen's evaluation behind B and C."""

    dossier_code: str
    received_at: datetime
    supplement_requests: str | None
    b_point: int | None
    staff_attitude: str | None
    c_point: int | None
    overall: str | None
    unsatisfied: bool
    # What the row's point is worth (the profile's): the rows' b_points add up to
    # B × evaluations, and c_points to C × evaluations. None from a server that does not say.
    b_points: float | None = None
    c_points: float | None = None

    @classmethod
    def from_json(cls, body: JSON) -> EvaluationRow:
        return cls(
            dossier_code=body["dossier_code"],
            received_at=to_datetime(body["received_at"]),
            supplement_requests=body.get("supplement_requests"),
            b_point=body.get("b_point"),
            staff_attitude=body.get("staff_attitude"),
            c_point=body.get("c_point"),
            overall=body.get("overall"),
            unsatisfied=bool(body["unsatisfied"]),
            b_points=to_float_or_none(body.get("b_points")),
            c_points=to_float_or_none(body.get("c_points")),
        )


@dataclass(frozen=True)
class PetitionRow:
    """A petition behind group 5."""

    petition_code: str
    dossier_code: str | None
    received_at: datetime
    deadline_at: datetime | None
    handled_at: datetime | None
    within_authority: bool
    handled_on_time: bool
    counts_against_group5: bool  # marks its dossier as not satisfied in group 5
    # "petition" (imported, or a survey comment asking for an answer) or "comment" (a
    # survey remark asking none, without a deadline).
    kind: str = "petition"
    # At the moment of the explanation: "on_time" or "late" once handled; an open one is
    # "late" past its deadline and "open" before it. None from a server that does not say.
    state: str | None = None
    counts_in_group5: bool = True  # a national-channel petition (or as the profile counts)
    scored: bool = True  # in group 5's rates now (an open one within its deadline is not)

    @classmethod
    def from_json(cls, body: JSON) -> PetitionRow:
        return cls(
            petition_code=body["petition_code"],
            dossier_code=body.get("dossier_code"),
            received_at=to_datetime(body["received_at"]),
            deadline_at=to_datetime_or_none(body.get("deadline_at")),
            handled_at=to_datetime_or_none(body.get("handled_at")),
            within_authority=bool(body["within_authority"]),
            handled_on_time=bool(body["handled_on_time"]),
            counts_against_group5=bool(body["counts_against_group5"]),
            kind=body.get("kind", "petition"),
            state=body.get("state"),
            counts_in_group5=bool(body.get("counts_in_group5", True)),
            scored=bool(body.get("scored", True)),
        )


@dataclass(frozen=True)
class Rows(Generic[T]):
    """The rows behind one component: `total` of them, only the first `limit` sent."""

    total: int
    truncated: bool
    rows: list[T]

    @classmethod
    def from_json(cls, body: JSON, row: Callable[[JSON], T]) -> Rows[T]:
        return cls(
            total=int(body["total"]),
            truncated=bool(body["truncated"]),
            rows=[row(r) for r in body["rows"]],
        )


@dataclass(frozen=True)
class Explanation:
    """A score with the dossiers, evaluations and petitions behind each component."""

    score: Score
    formulas: dict[str, str]
    dossiers: Rows[DossierRow]
    evaluations: Rows[EvaluationRow]
    petitions: Rows[PetitionRow]

    @classmethod
    def from_json(cls, body: JSON) -> Explanation:
        return cls(
            score=Score.from_json(body["score"]),
            formulas=dict(body.get("formulas", {})),
            dossiers=Rows.from_json(body["dossiers"], DossierRow.from_json),
            evaluations=Rows.from_json(body["evaluations"], EvaluationRow.from_json),
            petitions=Rows.from_json(body["petitions"], PetitionRow.from_json),
        )


__all__ = [
    "Counts",
    "DossierRow",
    "EvaluationRow",
    "Explanation",
    "Group5",
    "InputEntry",
    "Inputs",
    "PetitionRow",
    "Rows",
    "Score",
    "StaffScore",
    "StaffScores",
]
