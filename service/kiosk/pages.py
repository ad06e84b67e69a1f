"""The counter kiosk's page and its service worker: the same for every tablet and state
(paired or not), so that the service worker can keep them for offline use; the page asks
/kiosk/api/state who it is (router.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.responses import Response

from service.kiosk import service
from service.settings import ROOT
from service.web.deps import PublicWork
from service.web.pages import CONTENT_SECURITY_POLICY, Page, render, words

# The survey pages' policy, plus what the kiosk's script needs: its own API (fetch and the
# event stream), its service worker, its manifest (full screen from the home screen), and
# the tablet camera's picture for the QR scanner.
KIOSK_CSP = (
    CONTENT_SECURITY_POLICY
    + "; connect-src 'self'; worker-src 'self'; manifest-src 'self'; media-src 'self' blob:"
)

router = APIRouter(prefix="/kiosk", tags=["kiosk tablet"])


@router.get("", response_class=HTMLResponse, summary="The counter kiosk page")
async def kiosk_page(request: Request, work: PublicWork) -> Response:
    context = {
        "vi": words("vi"),
        "en": words("en"),
        "config": service.page_config(work.profile, work.settings.kiosk_idle_seconds),
    }
    headers = {"Content-Security-Policy": KIOSK_CSP, "Cache-Control": "no-cache"}
    return render(request, Page("kiosk/page.html", context, headers=headers), "vi")


@router.get("/sw.js", include_in_schema=False)
async def service_worker() -> Response:
    return FileResponse(
        ROOT / "static" / "kiosk-sw.js",
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/kiosk", "Cache-Control": "no-cache"},
    )
