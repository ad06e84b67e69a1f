"""API shapes for scores, rankings, explanations and period inputs (API.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from service.text_clean import Storable
from service.web.schemas import strict_with_example

Group = Literal["hai_long", "khong_hai_long", "chua_du_du_lieu"]
Component = Literal["a", "b", "c", "d", "e"]
DSource = Literal["imported", "group5"] | None
Tt01Entered = Literal["desk_organisation", "public_posting", "online_services"]


class Group5Public(BaseModel):
    score: float | None
    petitions_on_time_rate: float | None
    petitions_satisfied_rate: float | None
    dossiers_satisfied_rate: float | None


class CountsPublic(BaseModel):
    resolved_dossiers: int
    evaluations: int
    petitions: int


class InputEntry(BaseModel):
    """Who entered a value by hand (D or E), and when."""

    set_by: str = Field(description="The key (or person) that entered it")
    set_at: datetime


class InputsProvenance(BaseModel):
    """Where the entered D and E came from; null where nothing was entered (for D: then D,
    if any, is computed from the agency's petitions and evaluations in hailong)."""

    d: InputEntry | None = None
    e: InputEntry | None = None


class Score(BaseModel):
    model_config = ConfigDict(
        # Every field is sent: a client generated from the document must not take one
        # with a default (inputs) for optional (contract audit).
        json_schema_serialization_defaults_required=True,
        json_schema_extra={
            "examples": [
                {
                    "agency_code": "G22.39",
                    "agency_name": "UBND Phường Tân Định",
                    "period": "2025-Q3",
                    "profile": "hcmc-104-2024",
                    "a": 0.7,
                    "b": 0.8333333333333334,
                    "c": 0.6666666666666666,
                    "d": 17.5,
                    "e": 1,
                    "k": 20.7,
                    "group": "hai_long",
                    "k_min": 20.7,
                    "k_max": 20.7,
                    "missing": [],
                    "rank": 1,
                    "d_source": "imported",
                    "inputs": {
                        "d": {"set_by": "Sở Nội vụ", "set_at": "2025-10-05T09:00:00Z"},
                        "e": {"set_by": "Sở Nội vụ", "set_at": "2025-10-05T09:00:00Z"},
                    },
                    "group5": {
                        "score": 17.5,
                        "petitions_on_time_rate": 1.0,
                        "petitions_satisfied_rate": 0.95,
                        "dossiers_satisfied_rate": 0.92,
                    },
                    "counts": {"resolved_dossiers": 10, "evaluations": 6, "petitions": 2},
                    "computed_at": "2025-10-01T00:00:00Z",
                }
            ]
        },
    )

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
    group: Group
    k_min: float
    k_max: float
    missing: list[Component]
    rank: int | None = Field(description="Among siblings (same parent) by K; ties share a rank")
    d_source: DSource = Field(
        description="imported: entered by the competent authority (see inputs.d); group5: "
        "computed in hailong from petitions and evaluations; null: no D"
    )
    inputs: InputsProvenance = Field(
        default_factory=InputsProvenance,
        description="Who entered D and E and when; null for a value not entered",
    )
    group5: Group5Public
    counts: CountsPublic
    computed_at: datetime


class ScoreList(BaseModel):
    data: list[Score]
    count: int


class DossierRow(BaseModel):
    dossier_code: str
    resolved_at: datetime
    due_at: datetime | None
    overdue_working_days: int
    bucket: Literal["on_time", "late_within_grace", "late_over"]
    points: float
    counts_against_group5: bool


class EvaluationRow(BaseModel):
    dossier_code: str
    received_at: datetime
    supplement_requests: str | None
    b_point: int | None = Field(description="1 when it earns B's point, 0 when not")
    # What the point is worth (the profile's): the rows' b_points add up to B × evaluations.
    b_points: float | None = None
    staff_attitude: str | None
    c_point: int | None = Field(description="1 when it earns C's point, 0 when not")
    c_points: float | None = None
    overall: str | None
    unsatisfied: bool


class PetitionRow(BaseModel):
    petition_code: str
    dossier_code: str | None
    received_at: datetime
    deadline_at: datetime | None
    handled_at: datetime | None
    within_authority: bool
    handled_on_time: bool
    # "petition": imported, or a survey comment whose author asked for an answer;
    # "comment": a survey remark with no answer asked (no deadline).
    kind: Literal["petition", "comment"] = "petition"
    # At the moment of the explanation: "on_time" / "late" once handled; an open one is
    # "late" past its deadline and "open" before it.
    state: Literal["on_time", "late", "open"] = "open"
    # A national-channel petition (or a survey one where the profile counts those).
    counts_in_group5: bool = True
    # In rates a and b now (an open petition within its deadline is not, by default).
    scored: bool = True
    counts_against_group5: bool


class ComponentRows(BaseModel):
    total: int
    truncated: bool


class DossierRows(ComponentRows):
    rows: list[DossierRow]


class EvaluationRows(ComponentRows):
    rows: list[EvaluationRow]


class PetitionRows(ComponentRows):
    rows: list[PetitionRow]


class Explanation(Score):
    """API.md: "the Score plus the dossiers, evaluations and petitions": the Score's fields
    at the top, as GET .../scores/{period} gives them."""

    score: Score = Field(
        description="The same Score, nested (as the first versions gave it; kept for their clients)"
    )
    formulas: dict[str, str]
    dossiers: DossierRows
    evaluations: EvaluationRows
    petitions: PetitionRows


def _json_number(value: object) -> object:
    """A JSON number, not a text or a boolean: pydantic's lax mode took "1_0" as 10 and true
    as 1 (audit). A whole number written 1.0 stays an E of 1: the score returns E as 1.0,
    and a client sending back what it read was refused (review)."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


def _no_negative_zero(value: float) -> float:
    return value + 0.0  # -0.0 + 0.0 is 0.0: stored and shown as 0


# The numbers an official enters for a period, as the console's form reads them.
# Field(ge=0) inside: on the outer `X | None` it reached /openapi.json as "ge", which JSON
# Schema does not know, rather than "minimum" (review). allow_inf_nan=False: finite is
# checked before the bound, so a D sent as NaN is told "finite number", as an indicator is,
# not that it was below 0 (audit).
EnteredNumber = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False),
    BeforeValidator(_json_number),
    AfterValidator(_no_negative_zero),
]
EnteredPoints = Annotated[int, Field(ge=0), BeforeValidator(_json_number)]


class InputsUpdate(BaseModel):
    model_config = strict_with_example(
        {"d": 17.5, "e": 1, "note": "Kết quả từ hệ thống phản ánh kiến nghị"}
    )

    d: EnteredNumber | None = Field(default=None, description="Imported D; null clears it")
    e: EnteredPoints | None = Field(
        default=None, description="E: 0 or the profile's e_max (1); null clears it"
    )
    note: Annotated[str, Storable] | None = Field(default=None, max_length=1000)
    indicators: dict[Tt01Entered, EnteredPoints | None] | None = Field(
        default=None,
        description="TT 01/2018's entered indicators, where that profile is computed: 0 to "
        "its max_points (2); null for one clears it, and one not named is left as it is",
    )


class StaffScore(BaseModel):
    staff_code: str
    display_name: str | None
    resolved_dossiers: int
    a: float | None
    evaluations: int
    b_evaluations: int = Field(
        description="The evaluations B rests on (those that answered supplement_requests, or "
        "all, as the profile counts an unanswered question); B and C are withheld when this "
        "is above 0 and below min_evaluations",
    )
    c_evaluations: int = Field(
        description="The evaluations C rests on (those that answered staff_attitude, or all, "
        "as the profile counts an unanswered question); B and C are withheld when this is "
        "above 0 and below min_evaluations",
    )
    b: float | None
    c: float | None
    withheld: bool = Field(
        description="B and C hidden: too few evaluations, or too few answers to B's or C's "
        "question, for anonymity"
    )
    thin_month: str | None = Field(
        default=None,
        description="B and C hidden because this month of the period has too few evaluations, "
        "or too few answers to B's or C's question (the period's figure less the other "
        "months' would show them)",
    )
    hidden_with_others: bool = Field(
        default=False,
        description="B and C hidden though they rest on enough evaluations: with them shown, "
        "the agency's B and C less the shown staff's would give the few answers of those "
        "hidden (or of dossiers with no staff named), in the period or in a month of it",
    )


class StaffScoreList(BaseModel):
    agency_code: str
    period: str
    min_evaluations: int
    data: list[StaffScore]
