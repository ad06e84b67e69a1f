"""The survey inside a portal's page: /embed/s/{token} is /s/{token} in a compact layout,
framed only by the origins of HAILONG_EMBED_ORIGINS (none set: by nobody).

It needs no cookie (the token in the URL is the credential and the form posts back to the
same URL), so a browser that blocks third-party cookies in frames answers it all the same.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from service.settings import Settings
from service.surveys.pages import PAGE_RESPONSES, Variant, answer_survey, show_survey
from service.surveys.thanks import show_thanks
from service.web.deps import FormDep, PublicWork
from service.web.params import LangQuery, TokenPath

router = APIRouter(tags=["survey pages"])


def embedded(settings: Settings) -> Variant:
    return Variant("/embed/s", embedded=True, frame_origins=tuple(settings.embed_origin_list))


@router.get(
    "/embed/s/{token}",
    response_class=HTMLResponse,
    summary="The survey page, to frame in a portal's page (origins: HAILONG_EMBED_ORIGINS)",
    responses=PAGE_RESPONSES,
)
async def embedded_survey_page(
    request: Request, token: TokenPath, work: PublicWork, lang: LangQuery = None
) -> Response:
    return await show_survey(request, token, work, lang, embedded(work.settings))


@router.post(
    "/embed/s/{token}",
    response_class=HTMLResponse,
    summary="Submit the framed survey form",
    responses={
        **PAGE_RESPONSES,
        303: {"description": "Stored: to the thank-you page, GET /embed/s/{token}/thanks"},
        422: {"description": "Missing or invalid answers: the form again"},
    },
)
async def submit_embedded_survey(
    request: Request, token: TokenPath, form: FormDep, work: PublicWork, lang: LangQuery = None
) -> Response:
    return await answer_survey(request, token, form, work, lang, embedded(work.settings))


@router.get(
    "/embed/s/{token}/thanks",
    response_class=HTMLResponse,
    summary="The framed survey's thank-you page (again on reload)",
    responses=PAGE_RESPONSES,
)
async def embedded_thanks_page(
    request: Request, token: TokenPath, work: PublicWork, lang: LangQuery = None
) -> Response:
    return await show_thanks(request, token, work, lang, embedded(work.settings))
