"""Liveness, readiness, Prometheus metrics, and the API's documentation page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from service.migrations import current_revision, head_revision

router = APIRouter(tags=["operations"])


# HEAD as well as GET: uptime monitors probe with HEAD by default, and were told 405. Not
# in /openapi.json: the GET says it all, and one function may have one operation id.
@router.head("/healthz", include_in_schema=False)
@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.head("/readyz", include_in_schema=False)
@router.get(
    "/readyz",
    summary="The database is reachable and its schema is at the latest migration",
    responses={503: {"description": "Not ready; `detail` says why"}},
)
def readyz(request: Request) -> Response:
    try:
        with request.app.state.engine.connect() as connection:
            current = current_revision(connection)
    except SQLAlchemyError as exc:
        detail = f"database unreachable or not migrated: {type(exc).__name__}"
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
    head = head_revision()
    if current != head:
        detail = f"schema at {current}, code expects {head}: run 'hailong db upgrade'"
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
    return JSONResponse({"status": "ready", "schema": current})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )


# Served from hailong's own static files: a government network is often closed to the CDN
# FastAPI's default page loads (static/vendor/swagger-ui/VERSION says which release).
SWAGGER_UI = "/static/vendor/swagger-ui"


@router.get("/docs", include_in_schema=False)
async def api_docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="hailong API",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
    )
