"""Key-less routes reached with the survey token: QR images and the printable slip."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from service.calendar.working_days import LOCAL_TZ
from service.handovers import qr, tokens
from service.handovers.invitations import Issued, current_status, find_by_token
from service.models import Agency
from service.web.deps import PublicWork
from service.web.pages import Page, render
from service.web.params import TokenPath

router = APIRouter(tags=["survey links"])


# Printing or showing a code that can no longer be answered would only send citizens to an
# error page. Answered links keep their slip: a reprint for the file is harmless.
UNUSABLE = ("revoked", "expired")
LINK_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No survey has this link"},
    410: {"description": "The link was revoked or has expired"},
}
# The token is the credential: browsers may keep the image, shared caches must not, and
# it must not leak to other sites through Referer.
TOKEN_HEADERS = {"Cache-Control": "private, max-age=3600", "Referrer-Policy": "no-referrer"}


def _lookup(session: Session, token: str) -> tuple[Issued | None, str]:
    issued = find_by_token(session, token)
    if issued is None:
        return None, "unknown"
    return issued, current_status(issued.invitation)


def _plain_error(state: str) -> Response:
    if state == "unknown":
        return Response(
            "Không tìm thấy phiếu đánh giá này. / Survey not found.\n",
            404,
            media_type="text/plain; charset=utf-8",
        )
    return Response(
        "Phiếu đánh giá này không còn hiệu lực. / This survey link is no longer valid.\n",
        410,
        media_type="text/plain; charset=utf-8",
    )


async def _usable_link(work: PublicWork, token: str) -> tuple[str, str | None]:
    """(state, survey URL if the code may be shown)."""

    def check(session: Session) -> str:
        return _lookup(session, token)[1]

    state = await work.run(check)
    if state == "unknown" or state in UNUSABLE:
        return state, None
    return state, f"{work.settings.base_url}/s/{token}"


@router.get(
    "/s/{token}/qr.svg",
    summary="QR code of the survey link (SVG)",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **LINK_ERRORS},
)
async def qr_svg(token: TokenPath, work: PublicWork) -> Response:
    state, url = await _usable_link(work, token)
    if url is None:
        return _plain_error(state)
    return Response(qr.svg(url), media_type="image/svg+xml", headers=TOKEN_HEADERS)


@router.get(
    "/s/{token}/qr.png",
    summary="QR code of the survey link (PNG)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **LINK_ERRORS},
)
async def qr_png(token: TokenPath, work: PublicWork) -> Response:
    state, url = await _usable_link(work, token)
    if url is None:
        return _plain_error(state)
    return Response(qr.png(url), media_type="image/png", headers=TOKEN_HEADERS)


@router.get(
    "/s/{token}/slip",
    summary="Printable handover slip",
    response_class=HTMLResponse,
    responses=LINK_ERRORS,
)
async def slip(request: Request, token: TokenPath, work: PublicWork) -> Response:
    def gather(session: Session) -> tuple[str, dict[str, Any] | None, str]:
        issued, state = _lookup(session, token)
        if issued is None:
            return state, None, "vi"
        if state in UNUSABLE:  # in the language the slip spoke (survey audit)
            return state, None, issued.invitation.language
        agency = session.get(Agency, issued.dossier.agency_id)
        survey_url = f"{work.settings.base_url}/s/{token}"
        expires = issued.invitation.expires_at.astimezone(LOCAL_TZ)
        return (
            state,
            {
                "agency_name": agency.name if agency else "",
                "procedure_name": issued.dossier.procedure_name,
                "dossier_code": issued.dossier.code,
                "short_code": tokens.format_short_code(issued.invitation.short_code),
                "survey_url": survey_url,
                # With its time: the survey ends at the hour it was issued, and a date alone
                # read as "through that day" to a citizen who then met "expired" (audit).
                "expires_time": expires.strftime("%H:%M"),
                "expires_day": expires.strftime("%d/%m/%Y"),
            },
            # The slip speaks the invitation's language, as the survey it leads to does.
            issued.invitation.language,
        )

    state, context, language = await work.run(gather)
    # The slip keeps the headers it has always had, not the survey pages' stricter set.
    if context is None:
        status = 404 if state == "unknown" else 410
        no_referrer = {"Referrer-Policy": "no-referrer"}
        unavailable = Page(
            "slip_unavailable.html", {"state": state}, status, no_referrer, lang=language
        )
        return render(request, unavailable, hardened=False)
    context["qr_svg"] = qr.svg_inline(context["survey_url"])
    headers = {**TOKEN_HEADERS, "Cache-Control": "no-store"}
    page = Page("slip.html", context, headers=headers, lang=language)
    return render(request, page, hardened=False)
