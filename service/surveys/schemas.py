"""API shapes for submitting an evaluation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.text_clean import Storable
from service.timebounds import PastMoment
from service.web.schemas import Flag, NullAsAbsent, NullsAsAbsent, strict_with_example


class AnswersIn(NullsAsAbsent):
    model_config = ConfigDict(extra="forbid")

    timeliness: str | None = Field(default=None, max_length=32)
    supplement_requests: str | None = Field(default=None, max_length=32)
    staff_attitude: str | None = Field(default=None, max_length=32)
    overall: str | None = Field(default=None, max_length=32)
    # Asked where a TT 01/2018 profile is computed beside the K score (its indicator 4).
    agencies_contacted: str | None = Field(default=None, max_length=32)
    complaint: Annotated[str, Storable] | None = Field(default=None, max_length=10000)
    # True: the citizen wants the agency to answer the complaint (a "phản ánh", with a
    # handling deadline and a follow-up link). False: a comment, no answer asked.
    # true or false only (Flag), as the kiosk takes it: "yes" or 1 opened a petition.
    wants_reply: Annotated[bool, Flag, NullAsAbsent()] = False


class ResponseCreate(NullsAsAbsent):
    model_config = strict_with_example(
        {
            "token": "<token from survey_url>",
            "answers": {
                "timeliness": "on_time",
                "supplement_requests": "none",
                "staff_attitude": "good",
                "overall": "satisfied",
                "complaint": "",
            },
            "source": "phone",
            "client_submission_id": "0b6f7c1e-4d0a-4c55-9a55-2f7d8f1a3b21",
        }
    )

    token: str | None = Field(default=None, min_length=1, max_length=128)
    short_code: str | None = Field(
        default=None, min_length=1, max_length=16, examples=["7KQ4-M2XD"]
    )
    answers: AnswersIn
    source: Annotated[Literal["phone", "kiosk", "api"], NullAsAbsent()] = "api"
    client_submission_id: Annotated[str, Storable] | None = Field(
        default=None, min_length=1, max_length=64
    )
    # Only an admin key may backdate (imports of past evaluations from an older system).
    submitted_at: PastMoment | None = Field(
        default=None,
        description=(
            "When the citizen answered, for importing past evaluations: an admin key only, "
            "unscoped or scoped to an agency above the dossier's (a key of the dossier's own "
            "agency is refused, 403); not before the dossier was received"
        ),
    )
    # A phone number or e-mail, stored apart from the answers, and only with consent.
    contact: Annotated[str, Storable] | None = Field(default=None, max_length=255)
    # true or false only (Flag): "yes", 1 and "on" stored a contact on a consent the
    # contract never defines, where the kiosk refused them (contract audit).
    contact_consent: Annotated[bool, Flag, NullAsAbsent()] = False
    # The language the citizen answered in: the screen's, which may not be the survey's.
    language: Literal["vi", "en"] | None = Field(
        default=None,
        description=(
            "The language the citizen answered in (vi or en), where the client knows it "
            "(a citizen may switch from the survey's); kept with the answer and shown with "
            "its comment"
        ),
    )

    @model_validator(mode="after")
    def _one_credential(self) -> ResponseCreate:
        if (self.token is None) == (self.short_code is None):
            raise ValueError("send exactly one of token or short_code")
        return self


class ResponseCreated(BaseModel):
    # Every field is sent (followup_url as null): required in the document (contract audit).
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    response_id: int
    status: Literal["answered"] = "answered"
    # When the complaint opened a petition: the citizen's private page for the agency's
    # reply and their verdict on it. Show it to the citizen; do not store it.
    followup_url: str | None = None


class Label(BaseModel):
    """A text in both languages of the survey."""

    vi: str
    en: str


class FormAnswer(BaseModel):
    value: str = Field(description="What to send in `answers.<field>`")
    label: Label


class FormQuestion(BaseModel):
    field: str = Field(description="The key of `answers` in POST /api/v1/responses")
    label: Label
    required: bool = Field(description="Must be answered when submitting through the API")
    kind: Literal["choice", "text"]
    max_length: int | None = Field(
        default=None, description="Text questions only: the most characters accepted"
    )
    answers: list[FormAnswer] = Field(
        default_factory=list, description="Choice questions: the values offered, in order"
    )


class FormAgency(BaseModel):
    code: str
    name: str


class FormSubmit(BaseModel):
    """How to send the answers: this body, with the citizen's choices in `answers` and a
    new `client_submission_id` per submission (the same one again when retrying it)."""

    method: Literal["POST"] = "POST"
    url: str
    body_example: dict[str, Any]


class SurveyForm(BaseModel):
    """The questionnaire of one invitation, from the scoring profile, to show in another
    system's own page (a portal, an app) and submit with POST /api/v1/responses."""

    survey_id: str
    dossier_code: str
    procedure_name: str | None = None
    agency: FormAgency
    language: str = Field(description="The invitation's language: vi or en")
    expires_at: datetime
    questions: list[FormQuestion]
    submit: FormSubmit
