"""The "Từ chối nhận tin" (opt-out) page of invitations by message: it neither shows nor
stores the contact itself. (The short link of a message: service/handovers/short_links.py.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.i18n import pick_language
from service.messaging import contacts, outbox
from service.unit_of_work import UnitOfWork
from service.web.deps import PublicWork
from service.web.pages import Page, render
from service.web.params import LangQuery, OptOutTokenPath

router = APIRouter(tags=["invitations by message"])

# The links carry credentials: no caching by others, no Referer to other sites.
LINK_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _page(
    request: Request,
    state: str,
    token: str,
    channel: str | None,
    lang: str | None,
    status: int = 200,
) -> Response:
    # The page says what the opt-out covers: a phone number's (from the SMS's link or
    # Zalo's) stops both channels to it; an e-mail address's, e-mail alone. Its language is
    # the link's `lang` (the message's link carries the invitation's: compose.py; the token
    # knows only the contact), else Vietnamese; the button posts it on, so that the
    # confirmation is read in the language the question was.
    phone = channel in contacts.PHONE_CHANNELS
    language = pick_language(lang)
    context = {"state": state, "action": f"/u/{token}?lang={language}", "phone": phone}
    response = render(request, Page("messaging/opt_out.html", context, status, lang=language))
    response.headers.update(LINK_HEADERS)
    return response


LINK_REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not an opt-out link hailong sent"}
}


async def _link_page(
    request: Request,
    token: str,
    work: UnitOfWork,
    lang: str | None,
    state: str,
    act: Callable[[str, str], Awaitable[None]] | None = None,
) -> Response:
    """The page in `state` for a link hailong sent, once `act(channel, contact hash)` is
    done; for any other link, the 404 page."""
    read = contacts.read_opt_out_token(work.settings.signing_key(), token)
    if read is None:
        return _page(request, "invalid", token, None, lang, 404)
    channel, hashed = read
    if act is not None:
        await act(channel, hashed)
    return _page(request, state, token, channel, lang)


@router.get(
    "/u/{token}",
    response_class=HTMLResponse,
    summary="The opt-out page (Từ chối nhận tin)",
    responses=LINK_REFUSED,
)
async def opt_out_page(
    request: Request, token: OptOutTokenPath, work: PublicWork, lang: LangQuery = None
) -> Response:
    return await _link_page(request, token, work, lang, "ask")


@router.post(
    "/u/{token}",
    response_class=HTMLResponse,
    summary="Record the opt-out, forever",
    responses=LINK_REFUSED,
)
async def opt_out(
    request: Request, token: OptOutTokenPath, work: PublicWork, lang: LangQuery = None
) -> Response:
    """Verified by its MAC alone (no lookup, so nothing to guess against); recorded once."""

    async def record(channel: str, hashed: str) -> None:
        await work.write(lambda session: outbox.record_opt_out(session, channel, hashed))

    return await _link_page(request, token, work, lang, "done", record)
