"""API shapes of the raw evaluations (GET /api/v1/evaluations)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from service.web.schemas import CursorPage


class Answers(BaseModel):
    """The citizen's choices, as stored (the free-text complaint is never here)."""

    timeliness: str | None
    supplement_requests: str | None
    staff_attitude: str | None
    overall: str | None
    # Asked where a TT 01/2018 profile is computed beside the K score.
    agencies_contacted: str | None = None


class StaffCodes(BaseModel):
    """null to a reader key: who handled the dossier each answer rated is for the roles
    that read per-staff scores (manager, admin)."""

    receiving: str | None
    handling: str | None
    returning: str | None


class DossierFactsPublic(BaseModel):
    dossier_code: str
    agency_code: str
    procedure_code: str | None
    procedure_name: str | None
    received_at: datetime | None
    due_at: datetime | None
    resolved_at: datetime
    handed_over_at: datetime | None
    on_time: bool = Field(description="Resolved by its due time")
    overdue_working_days: int
    supplement_requests: int
    channel: str | None
    counter_code: str | None
    staff: StaffCodes


class PrivateText(BaseModel):
    """Only for an admin key with include_private=true; every such read is audited."""

    complaint: str | None
    contact: str | None


class EvaluationPublic(BaseModel):
    response_id: int
    received_at: datetime
    received_day: date = Field(description="The local day (Asia/Ho_Chi_Minh) it is scored on")
    agency_code: str = Field(description="The agency the evaluation counts for")
    source: str
    answers: Answers
    group5_satisfied: bool = Field(
        description="Not an unsatisfied evaluation as group 5 counts it (the profile's rule)"
    )
    dossier: DossierFactsPublic
    private: PrivateText | None = Field(
        default=None, description="null unless an admin asked for include_private=true"
    )


class EvaluationPage(CursorPage[EvaluationPublic]):
    """Evaluations by response id, oldest first."""
