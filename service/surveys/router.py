"""POST /api/v1/responses: the JSON way to answer (kiosks, apps, imports), and the
questionnaire to answer, GET /api/v1/surveys/{token}/form."""

from __future__ import annotations

from fastapi import APIRouter, Response

from service.surveys import api_submit, form_api
from service.surveys.schemas import ResponseCreate, ResponseCreated, SurveyForm
from service.web.deps import OptionalKeyWork, PublicWork
from service.web.errors import error_responses
from service.web.params import TokenPath
from service.web.routes import created_or_known

router = APIRouter(prefix="/api/v1", tags=["responses"])


@router.post(
    "/responses",
    summary="Submit the evaluation of a survey (the token or short code is the credential)",
    **created_or_known(
        ResponseCreated,
        "Same client_submission_id again: the same response",
        errors=(401, 403, 404, 409, 410, 422, 429),
    ),
    # No key needed (API.md): only an admin's, for submitted_at. Without this the schema
    # said the bearer key was required, and clients generated from it demanded one.
    openapi_extra={"security": [{}]},  # beside the bearer key FastAPI lists: either
)
async def submit_response(
    payload: ResponseCreate, response: Response, work: OptionalKeyWork
) -> ResponseCreated:
    submitted = await api_submit.submit(work, payload)
    if not submitted.created:
        response.status_code = 200
    return ResponseCreated(response_id=submitted.response_id, followup_url=submitted.followup_url)


@router.get(
    "/surveys/{token}/form",
    summary="The questionnaire of a survey, to show in another page (the token is the "
    "credential; opening it marks the survey opened)",
    response_model=SurveyForm,
    response_model_exclude_none=True,
    responses=error_responses(404, 409, 410, 422, 429),
)
async def survey_form(token: TokenPath, work: PublicWork) -> SurveyForm:
    return await form_api.survey_form(work, token)
