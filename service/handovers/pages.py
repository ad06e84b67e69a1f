"""Key-less routes reached with the survey token: QR images and the printable slip."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from service.deps import SessionDep, SettingsDep
from service.handovers import qr, service, tokens
from service.models import Agency

router = APIRouter(tags=["survey links"])

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Printing or showing a code that can no longer be answered would only send citizens to an
# error page. Answered links keep their slip: a reprint for the file is harmless.
UNUSABLE = ("revoked", "expired")
TokenPath = Annotated[str, Path(max_length=128, description="The survey token")]
# The token is the credential: browsers may keep the image, shared caches must not, and
# it must not leak to other sites through Referer.
TOKEN_HEADERS = {"Cache-Control": "private, max-age=3600", "Referrer-Policy": "no-referrer"}


def _usable(session: SessionDep, token: str) -> tuple[service.Issued | None, str]:
    issued = service.find_by_token(session, token)
    if issued is None:
        return None, "unknown"
    return issued, service.current_status(issued.invitation)


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


@router.get(
    "/s/{token}/qr.svg",
    summary="QR code of the survey link (SVG)",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def qr_svg(token: TokenPath, session: SessionDep, settings: SettingsDep) -> Response:
    issued, state = _usable(session, token)
    if issued is None or state in UNUSABLE:
        return _plain_error(state)
    body = qr.svg(f"{settings.base_url}/s/{token}")
    return Response(body, media_type="image/svg+xml", headers=TOKEN_HEADERS)


@router.get(
    "/s/{token}/qr.png",
    summary="QR code of the survey link (PNG)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def qr_png(token: TokenPath, session: SessionDep, settings: SettingsDep) -> Response:
    issued, state = _usable(session, token)
    if issued is None or state in UNUSABLE:
        return _plain_error(state)
    body = qr.png(f"{settings.base_url}/s/{token}")
    return Response(body, media_type="image/png", headers=TOKEN_HEADERS)


@router.get("/s/{token}/slip", summary="Printable handover slip", response_class=HTMLResponse)
def slip(
    request: Request, token: TokenPath, session: SessionDep, settings: SettingsDep
) -> Response:
    templates = request.app.state.templates
    issued, state = _usable(session, token)
    if issued is None or state in UNUSABLE:
        status = 404 if issued is None else 410
        return templates.TemplateResponse(  # type: ignore[no-any-return]
            request,
            "slip_unavailable.html",
            {"state": state},
            status_code=status,
            headers={"Referrer-Policy": "no-referrer"},
        )
    agency = session.get(Agency, issued.dossier.agency_id)
    survey_url = f"{settings.base_url}/s/{token}"
    context = {
        "agency_name": agency.name if agency else "",
        "procedure_name": issued.dossier.procedure_name,
        "dossier_code": issued.dossier.code,
        "short_code": tokens.format_short_code(issued.invitation.short_code),
        "survey_url": survey_url,
        "qr_svg": qr.svg_inline(survey_url),
        "expires_on": issued.invitation.expires_at.astimezone(LOCAL_TZ).strftime("%d/%m/%Y"),
    }
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request, "slip.html", context, headers={**TOKEN_HEADERS, "Cache-Control": "no-store"}
    )
