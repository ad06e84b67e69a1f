"""The citizen's follow-up page of a petition: status, the agency's reply, and the verdict.

Public: the token in the URL is the credential. Same headers, throttle and look as the
survey pages; works without JavaScript.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session
from starlette.responses import Response

from service.calendar.working_days import local_date
from service.errors import ServiceError
from service.i18n import pick_language
from service.models import Petition
from service.petitions import followup
from service.petitions import service as petitions
from service.surveys import throttle
from service.surveys.pages import FormDep, LangQuery, Page, render, status_page
from service.unit_of_work import PublicWork, UnitOfWork

router = APIRouter(tags=["petition follow-up"])
TokenPath = Annotated[str, Path(max_length=128, description="The petition's follow-up token")]
FORM_FIELDS = {"verdict", "lang"}
RESPONSES: dict[int | str, dict[str, str]] = {
    404: {"description": "Unknown link"},
    429: {"description": "Too many wrong links"},
}


def _day(moment: datetime | None) -> str | None:
    return local_date(moment).strftime("%d/%m/%Y") if moment else None


def _page(
    session: Session,
    petition: Petition,
    token: str,
    lang: str | None,
    *,
    status: int = 200,
    problem: bool = False,
    just_judged: bool = False,
) -> Page:
    view = followup.view(session, petition)
    language = pick_language(lang, view.language)
    return Page(
        "petitions/followup.html",
        language,
        status,
        {
            "view": view,
            "received": _day(view.received_at),
            "deadline": _day(view.deadline_at),
            "handled": _day(view.handled_at),
            "action": f"{followup.FOLLOWUP_PATH}{token}",
            "problem": problem,
            "just_judged": just_judged,
        },
    )


def _find(
    work: UnitOfWork, session: Session, token: str, lang: str | None, *, lock: bool = False
) -> Petition | Page:
    try:
        throttle.check_allowed(work.engine, work.settings, work.client_address)
        petition = followup.find(session, token, for_update=lock)
        if petition is None:
            throttle.record_failure(work.engine, work.settings, work.client_address)
    except throttle.TooManyGuesses as exc:
        return status_page("rate_limited", pick_language(lang), headers=exc.headers)
    if petition is None:
        return Page("petitions/unknown.html", pick_language(lang), 404)
    return petition


@router.get(
    "/p/{token}",
    response_class=HTMLResponse,
    summary="The citizen's follow-up page of a petition",
    responses=RESPONSES,
)
async def followup_page(
    request: Request, token: TokenPath, work: PublicWork, lang: LangQuery = None
) -> Response:
    def show(session: Session) -> Page:
        found = _find(work, session, token, lang)
        if isinstance(found, Page):
            return found
        return _page(session, found, token, lang)

    return render(request, await work.run(show))


@router.post(
    "/p/{token}",
    response_class=HTMLResponse,
    summary="The citizen's verdict on the handling of a petition",
    responses={
        **RESPONSES,
        409: {"description": "No reply yet, or a verdict already given"},
        422: {"description": "No verdict chosen: the page again"},
    },
)
async def give_verdict(
    request: Request, token: TokenPath, form: FormDep, work: PublicWork, lang: LangQuery = None
) -> Response:
    language = form.get("lang") or lang

    def judge(session: Session) -> Page:
        found = _find(work, session, token, language, lock=True)
        if isinstance(found, Page):
            return found
        verdict = form.get("verdict", "")
        if set(form) - FORM_FIELDS or verdict not in petitions.VERDICTS:
            return _page(session, found, token, language, status=422, problem=True)
        try:
            petitions.record_verdict(session, found, verdict, work.profile)
        except ServiceError:  # not replied yet, or judged already: the page says which
            return _page(session, found, token, language, status=409)
        return _page(session, found, token, language, just_judged=True)

    return render(request, await work.run(judge))
