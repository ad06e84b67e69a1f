"""GET /s/{token}/thanks (and /embed/s/{token}/thanks inside a portal's page): the survey's
thank-you page, where POST /s/{token} (/embed/s/{token}) sends the citizen (303) once the
answers are stored. A reload shows it again, with the private follow-up link of the
complaint, instead of posting the form a second time.

Keyed by the survey token, which only the citizen holds (their slip, their phone): the
page shows the follow-up link only of an answer given on the phone, never of one given at
a kiosk or through an app, and writes nothing. Works without JavaScript.
"""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session
from starlette.responses import Response

from service.calendar.working_days import local_date
from service.handovers.service import current_status
from service.handovers.tokens import hash_token
from service.models import Invitation, Petition
from service.petitions import followup
from service.settings import Settings
from service.surveys.lookup import Survey
from service.surveys.pages import PAGE_RESPONSES, PHONE, Variant, status_page, survey_link_page
from service.unit_of_work import UnitOfWork
from service.web.deps import PublicWork
from service.web.pages import Page
from service.web.params import LangQuery, TokenPath

router = APIRouter(tags=["survey pages"])
THANKS = "survey/thanks.html"


def followup_url(settings: Settings, petition: Petition) -> str | None:
    """The follow-up link given out when the answer was stored. Read-only: the token is
    made again from the petition's seed, and shown only if it is the one given out."""
    if petition.followup_seed is None or petition.followup_token_hash is None:
        return None
    token = followup.token_from_seed(settings.signing_key(), petition.followup_seed)
    if hash_token(token) != petition.followup_token_hash:
        return None
    return followup.link(settings.base_url, token)


def _in_language(url: str | None, survey: Survey, language: str) -> str | None:
    """The follow-up page opens in the survey's language: one answered in another carries
    it (an English thanks page linked to a Vietnamese reply page; pages audit)."""
    if url is None or language == survey.invitation.language:
        return url
    return f"{url}?lang={language}"


def _thanks(session: Session, settings: Settings, survey: Survey, language: str) -> Page:
    # The lookup found the petition's id with the survey: read only when there is one.
    petition_id = survey.answer_petition_id
    petition = session.get(Petition, petition_id) if petition_id is not None else None
    deadline = (
        local_date(petition.deadline_at).strftime("%d/%m/%Y")
        if petition and petition.deadline_at
        else None
    )
    context = {
        "petition": petition,
        "deadline": deadline,
        "agency_name": survey.agency_name,
        "followup_url": _in_language(followup_url(settings, petition), survey, language)
        if petition
        else None,
        # Inside a portal's page, survey-embed.js tells the portal it was answered.
        "survey_id": survey.invitation.public_id,
    }
    return Page(THANKS, context, lang=language)


@router.get(
    "/s/{token}/thanks",
    response_class=HTMLResponse,
    summary="The thank-you page after answering on the phone (again on reload)",
    responses=PAGE_RESPONSES,
)
async def thanks_page(
    request: Request, token: TokenPath, work: PublicWork, lang: LangQuery = None
) -> Response:
    return await show_thanks(request, token, work, lang, PHONE)


async def show_thanks(
    request: Request, token: str, work: UnitOfWork, lang: str | None, variant: Variant
) -> Response:
    def show(session: Session, survey: Survey, language: str) -> Page:
        status = current_status(cast(Invitation, survey.invitation))
        if status in ("revoked", "expired"):  # withdrawn or expired before it was answered
            return status_page(status, language)
        if status != "answered":  # the plain thanks the honeypot's post is sent to
            return Page(THANKS, {"petition": None}, lang=language)
        # Answered at a kiosk or by an app: not this page's to show.
        if survey.answer_id is None or survey.answer_source != "phone":
            return status_page("answered", language)
        return _thanks(session, work.settings, survey, language)

    return variant.send(request, await survey_link_page(work, token, lang, show))
