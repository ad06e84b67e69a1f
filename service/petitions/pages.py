"""The citizen's follow-up page of a petition: status, the agency's reply, and the verdict.

Public: the token in the URL is the credential. Same headers, throttle and look as the
survey pages; works without JavaScript.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session
from starlette.responses import Response

from service import throttle
from service.calendar.working_days import local_date
from service.errors import ServiceError
from service.handovers import qr
from service.i18n import pick_language
from service.models import Petition
from service.petitions import followup
from service.petitions import service as petitions
from service.profile import Profile
from service.web.deps import FormDep, PublicWork
from service.web.errors import resend_form
from service.web.link_pages import guarded_page
from service.web.pages import Page, render
from service.web.params import FollowupTokenPath, LangQuery

router = APIRouter(tags=["petition follow-up"])
FORM_FIELDS = {"verdict", "lang"}
RESPONSES: dict[int | str, dict[str, str]] = {
    404: {"description": "Unknown link"},
    429: {"description": "Too many wrong links"},
}
# The image is the private link itself: no cache keeps it (the next citizen at a kiosk
# must not find it), and it never leaks to another site.
QR_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
VERDICT_RESPONSES = {
    **RESPONSES,
    409: {"description": "No reply yet, or a verdict already given"},
    422: {"description": "No verdict chosen: the page again"},
}


def _day(moment: datetime | None) -> str | None:
    return local_date(moment).strftime("%d/%m/%Y") if moment else None


def _page(
    session: Session,
    petition: Petition,
    token: str,
    lang: str | None,
    profile: Profile,
    *,
    status: int = 200,
    problem: bool = False,
    just_judged: bool = False,
) -> Page:
    view = followup.view(session, petition, profile)
    language = pick_language(lang, view.language)
    return Page(
        "petitions/followup.html",
        {
            "view": view,
            "received": _day(view.received_at),
            "deadline": _day(view.deadline_at),
            "handled": _day(view.handled_at),
            "action": f"{followup.FOLLOWUP_PATH}{token}",
            "problem": problem,
            "just_judged": just_judged,
        },
        status,
        lang=language,
    )


def _find(
    guess: throttle.Guess, session: Session, token: str, lang: str | None, *, lock: bool = False
) -> Petition | Page:
    petition = guess.look(session, lambda: followup.find(session, token, for_update=lock))
    if petition is None:
        return Page("petitions/unknown.html", status=404, lang=pick_language(lang))
    return petition


@router.get(
    "/p/{token}",
    response_class=HTMLResponse,
    summary="The citizen's follow-up page of a petition",
    responses=RESPONSES,
)
async def followup_page(
    request: Request, token: FollowupTokenPath, work: PublicWork, lang: LangQuery = None
) -> Response:
    def show(session: Session, guess: throttle.Guess) -> Page:
        found = _find(guess, session, token, lang)
        return (
            found if isinstance(found, Page) else _page(session, found, token, lang, work.profile)
        )

    return render(request, await guarded_page(work, lang, show, work.run))


@router.get(
    "/p/{token}/qr.svg",
    summary="QR code of a follow-up link (SVG), for the kiosk's thank-you screen",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **RESPONSES},
)
async def followup_qr(token: FollowupTokenPath, work: PublicWork) -> Response:
    """Only for a follow-up token the service gave out (no QR of anything else); not kept by
    any cache, and throttled like the page, since it tells a real token from a guess."""

    def check(session: Session, guess: throttle.Guess) -> bool:
        return guess.look(session, lambda: followup.find(session, token)) is not None

    # Too many wrong links: the API's 429 (with Retry-After).
    found = await work.guarded(check)
    if not found:
        return Response(
            "Không tìm thấy đường dẫn này. / Link not found.\n",
            404,
            headers=QR_HEADERS,
            media_type="text/plain; charset=utf-8",
        )
    svg = qr.svg(followup.link(work.settings.base_url, token))
    return Response(svg, media_type="image/svg+xml", headers=QR_HEADERS)


@router.post(
    "/p/{token}",
    response_class=HTMLResponse,
    summary="The citizen's verdict on the handling of a petition",
    responses=VERDICT_RESPONSES,
)
async def give_verdict(
    request: Request,
    token: FollowupTokenPath,
    form: FormDep,
    work: PublicWork,
    lang: LangQuery = None,
) -> Response:
    language = form.get("lang") or lang

    def judge(session: Session, guess: throttle.Guess) -> Page:
        found = _find(guess, session, token, language, lock=True)
        if isinstance(found, Page):
            return found
        verdict = form.get("verdict", "")
        if set(form) - FORM_FIELDS or verdict not in petitions.VERDICTS:
            return _page(session, found, token, language, work.profile, status=422, problem=True)
        try:
            petitions.record_verdict(session, found, verdict, work.profile)
        except ServiceError:  # not replied yet, or judged already: the page says which
            return _page(session, found, token, language, work.profile, status=409)
        return _page(session, found, token, language, work.profile, just_judged=True)

    return render(
        request, await guarded_page(work, language, judge, work.run, resend_form(request))
    )
