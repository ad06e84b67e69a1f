"""The short link in a message sent to a citizen (service/messaging): `/m/<short code>`
redirects to the survey page. It opens nothing new: the short code already stands in for
the token on POST /api/v1/responses, and a wrong code counts against the client address
like a wrong survey link (service/throttle.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col

from service import throttle
from service.handovers import tokens
from service.handovers.invitations import Issued, find_issued
from service.i18n import pick_language, spoken_language
from service.models import Invitation
from service.web.deps import PublicWork
from service.web.pages import Page, render
from service.web.params import LangQuery, ShortCodePath

router = APIRouter(tags=["survey links"])

# The links carry credentials: no caching by others, no Referer to other sites.
LINK_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _find(session: Session, typed: str) -> Issued | None:
    code = tokens.normalize_short_code(typed)
    if len(code) != tokens.SHORT_CODE_LENGTH:
        return None
    return find_issued(session, col(Invitation.short_code) == code)


@router.get(
    "/m/{code}",
    summary="A message's short link: redirects to the survey page",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        404: {
            "description": "No survey has this code: a page says so",
            "content": {"text/html": {}},
        },
        429: {"description": "Too many wrong codes", "content": {"text/html": {}}},
    },
)
async def short_link(
    request: Request, code: ShortCodePath, work: PublicWork, lang: LangQuery = None
) -> Response:

    def find(session: Session, guess: throttle.Guess) -> str | None:
        issued = guess.look(session, lambda: _find(session, code))
        if issued is None:
            return None
        return tokens.token_from_seed(work.settings.signing_key(), issued.invitation.token_seed)

    try:
        token = await work.guarded(find)
    except throttle.TooManyGuesses as exc:
        return _status(request, "rate_limited", exc.status_code, exc.headers or {}, lang)
    if token is None:
        return _status(request, "unknown", 404, {}, lang)
    survey_url = _survey_url(work.settings.base_url, token, lang)
    return RedirectResponse(survey_url, 303, headers=LINK_HEADERS)


def _survey_url(base_url: str, token: str, lang: str | None) -> str:
    """The survey page, in the language the short link asks for: dropped, /m/{code}?lang=en
    opened the survey in the invitation's language (audit). Only a language the pages
    speak is carried over; nothing else of the query reaches the redirect."""
    spoken = spoken_language(lang)  # as the pages read it: ?lang=EN and en-US are English
    if spoken is not None:
        return f"{base_url}/s/{token}?lang={spoken}"
    return f"{base_url}/s/{token}"


def _status(
    request: Request, kind: str, status: int, headers: dict[str, str], lang: str | None
) -> Response:
    """The survey link's own status page, in Vietnamese (the messages' language) unless the
    link asks for English (?lang=en, as the survey it leads to: its "not found" stayed
    Vietnamese; survey audit). A plain text answer was laid out 980 px wide on a phone, its
    letters a few pixels tall (audit)."""
    refusal = {"kind": kind, "detail": None}
    language = pick_language(lang)
    page = Page("survey/status.html", refusal, status, {**headers, **LINK_HEADERS}, lang=language)
    return render(request, page)
