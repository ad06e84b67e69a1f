"""Liveness, readiness, Prometheus metrics, and the API's documentation page."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from service.migrations import current_revision, head_revision, schema_advice
from service.ops.counters import counters_profile
from service.web.pages import PAGE_HEADERS

router = APIRouter(tags=["operations"])


# HEAD too (app.HeadAsGet): uptime monitors probe with HEAD by default.
@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database is reachable, its schema is at the latest migration and the score"
    " counters are built under the running scoring profile",
    responses={503: {"description": "Not ready; `detail` says why"}},
)
def readyz(request: Request) -> Response:
    head = head_revision()
    try:
        with request.app.state.engine.connect() as connection:
            current = current_revision(connection)
            built_for = counters_profile(connection) if current == head else None
    except SQLAlchemyError as exc:
        detail = f"database unreachable or not migrated: {type(exc).__name__}"
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
    if current != head:
        detail = schema_advice(current)
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
    # Scores read from counters built under another profile are wrong: a rebuild at start
    # that failed, or counters rebuilt by the CLI under other settings, are rebuilt in the
    # background (ops/counters.py).
    profile = request.app.state.profile
    if built_for != profile.fingerprint():
        detail = (
            f"score counters not built under this process's scoring profile {profile.name}:"
            " a rebuild at start failed, or another process (a recompute, an import) rebuilt"
            " them under another: they are rebuilt in the background (see the log)"
        )
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
    return JSONResponse({"status": "ready", "schema": current})


# A plain `def`, run in the threadpool: the scrape reads the webhook backlog from the
# database (WebhookBacklog), which on the event loop stalled every request of the process,
# /healthz included, for as long as the query or its wait for a pooled connection took.
@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )


# Served from hailong's own static files: a government network is often closed to the CDN
# FastAPI's default page loads (static/vendor/swagger-ui/VERSION says which release).
SWAGGER_UI = "/static/vendor/swagger-ui"


@router.get("/docs", include_in_schema=False)
async def api_docs() -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="hailong API",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
    )
    page.headers.update(_docs_headers(bytes(page.body)))
    return page


def _docs_headers(body: bytes) -> dict[str, str]:
    """The pages' headers for /docs, where officials paste an API key ("Authorize"): it
    had none, so any site could frame it (security audit). Its one inline script, which
    starts Swagger UI, is allowed by its hash; Swagger UI sets inline styles."""
    inline = re.search(rb"<script>(.*?)</script>", body, re.DOTALL)
    scripts = "'self'"
    if inline is not None:
        digest = base64.b64encode(hashlib.sha256(inline.group(1)).digest()).decode()
        scripts += f" 'sha256-{digest}'"
    policy = (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    return {**PAGE_HEADERS, "Content-Security-Policy": policy}
