"""Pages reached through a link only a citizen holds (a survey's, a petition's follow-up):
their work runs under the guessing throttle, and an address that guessed too many links
gets one refusal page, the same whichever link it guessed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import Session

from service import throttle
from service.i18n import pick_language
from service.unit_of_work import UnitOfWork
from service.web.pages import Page

Show = Callable[[Session, throttle.Guess], Page]
Runner = Callable[[Callable[[Session], Page]], Awaitable[Page]]


async def guarded_page(
    work: UnitOfWork,
    lang: str | None,
    show: Show,
    run: Runner,
    resend: dict[str, Any] | None = None,
) -> Page:
    """`show(session, guess)` run by `run` (`work.run`, or `work.write` for a page that
    writes, with the other writes of the moment), or the refusal page. `resend`: a posted
    citizen's form (errors.resend_form), which the refusal offers to send again as typed
    (an answer with its complaint was lost to the 429 page: audit). A link's whole token is
    looked up even past the limit (throttle.guarded, `unguessable`): only a wrong link is
    refused, so citizens behind one address with the guessers keep theirs."""
    try:
        # A link's page: its token is whole (a short code's link redirects here first).
        return await work.guarded(show, run=run, unguessable=True)
    except throttle.TooManyGuesses as exc:
        refusal = {"kind": "rate_limited", "detail": None, "resend": resend}
        status, headers = exc.status_code, exc.headers or {}
        return Page("survey/status.html", refusal, status, headers, lang=pick_language(lang))
