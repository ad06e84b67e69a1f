"""The questionnaire of one invitation as JSON (GET /api/v1/surveys/{token}/form), for a
portal or an app that shows the survey in its own page and answers with POST
/api/v1/responses. Questions, answers and their labels come from the scoring profile.

The token is the credential, as for answering: wrong tokens are throttled per address, and
an answered, expired or revoked survey says so (409, 410) as the answering API would.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from service import throttle
from service.i18n import gettext_for
from service.profile import Channel, Profile, Question
from service.surveys import service
from service.surveys.lookup import Survey
from service.surveys.schemas import (
    FormAgency,
    FormAnswer,
    FormQuestion,
    FormSubmit,
    Label,
    SurveyForm,
)
from service.unit_of_work import UnitOfWork

# The survey page's own words for the free-text question (the profile holds only the
# scored questions), so that the JSON form and the page say the same.
COMPLAINT_LABEL = "Góp ý, phản ánh (không bắt buộc)"
# Answers to the scored questions are checked as the API's: an admin import may omit them,
# a portal submitting for a citizen may not.
CHANNEL: Channel = "api"


async def survey_form(work: UnitOfWork, token: str) -> SurveyForm:
    """Opening the form marks the survey opened, as opening its page does (a portal shows
    it to the citizen): hence a write, with the other answers of the moment."""
    return await work.guarded(
        lambda session, guess: _form(work, session, guess, token),
        run=work.write,
        unguessable=True,
    )


def _form(work: UnitOfWork, session: Session, guess: throttle.Guess, token: str) -> SurveyForm:
    survey = service.find_invitation(session, guess, token, None)
    service.ensure_answerable(survey.invitation)
    if not work.only_looking:
        service.mark_opened(session, survey)
    agency_out = FormAgency(code=survey.agency_code, name=survey.agency_name)
    return build_form(work.profile, survey, agency_out, token, work.settings.base_url)


def build_form(
    profile: Profile, survey: Survey, agency: FormAgency, token: str, base_url: str
) -> SurveyForm:
    invitation, dossier = survey.invitation, survey.dossier
    questions = [_choice(q) for q in profile.survey.questions]
    example: dict[str, Any] = {q.field: q.answers[0].value for q in questions}
    if profile.survey.complaint_max_chars:
        questions.append(
            FormQuestion(
                field="complaint",
                label=Label(
                    vi=gettext_for("vi")(COMPLAINT_LABEL), en=gettext_for("en")(COMPLAINT_LABEL)
                ),
                required=False,
                kind="text",
                max_length=profile.survey.complaint_max_chars,
            )
        )
        example |= {"complaint": "", "wants_reply": False}
    body = {
        "token": token,
        "answers": example,
        "source": "api",
        # A fresh one for each form fetched: copied as it is, it still names one submission.
        "client_submission_id": str(uuid.uuid4()),
    }
    return SurveyForm(
        survey_id=invitation.public_id,
        dossier_code=dossier.code,
        procedure_name=dossier.procedure_name,
        agency=agency,
        language=invitation.language,
        expires_at=invitation.expires_at,
        questions=questions,
        submit=FormSubmit(url=f"{base_url}/api/v1/responses", body_example=body),
    )


def _choice(question: Question) -> FormQuestion:
    return FormQuestion(
        field=question.field,
        label=Label(vi=question.text("vi"), en=question.text("en")),
        required=question.required_on(CHANNEL),
        kind="choice",
        answers=[
            FormAnswer(value=a.value, label=Label(vi=a.vi, en=a.en)) for a in question.answers
        ],
    )
