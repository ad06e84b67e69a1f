"""The application factory: nothing connects or reads configuration at import time."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.admin.audit_router import router as audit_router
from service.admin.keys_router import router as keys_router
from service.admin.officials_router import router as officials_router
from service.admin.router import router as agencies_router
from service.alerts.router import router as alerts_router
from service.auth.cache import KeyCache
from service.console.alerts_pages import router as console_alerts_router
from service.console.audit_pages import router as console_audit_router
from service.console.kiosk_pages import router as console_kiosks_router
from service.console.pages import entry_router as console_entry_router
from service.console.pages import router as console_router
from service.console.petition_pages import router as console_petitions_router
from service.console.sign_in_pages import router as console_sign_in_router
from service.db import make_engine
from service.delivery.stats import backlog as delivery_backlog
from service.delivery.worker import start_embedded
from service.evaluations.exports_router import router as raw_exports_router
from service.evaluations.router import router as evaluations_router
from service.evaluations.service import put_first_answers_from_another_server
from service.handovers.batching import HandoverWriter
from service.handovers.pages import router as survey_link_router
from service.handovers.router import router as handovers_router
from service.handovers.short_links import router as short_links_router
from service.kiosk.feed import PresentationFeed
from service.kiosk.pages import router as kiosk_page_router
from service.kiosk.router import device_api as kiosk_device_router
from service.kiosk.router import manage as kiosk_manage_router
from service.messaging.channels.providers import check as check_message_providers
from service.messaging.pages import router as message_links_router
from service.ops.counters import CounterRebuild
from service.ops.observability import UNMATCHED, Metrics, RequestRecorder, configure_logging
from service.ops.router import router as ops_router
from service.petitions.pages import router as petition_followup_router
from service.petitions.router import router as petitions_router
from service.portal.pages import router as public_pages_router
from service.portal.reach_router import router as response_rate_exports_router
from service.portal.router import router as exports_router
from service.profile import profile_of
from service.reports.pages import router as console_reports_router
from service.reports.router import router as reports_router
from service.scoring.calendar_router import router as calendar_router
from service.scoring.reach_router import router as response_rates_router
from service.scoring.router import router as scores_router
from service.settings import ROOT, Settings, get_settings
from service.surveys.embed import router as survey_embed_router
from service.surveys.pages import router as survey_pages_router
from service.surveys.router import router as responses_router
from service.surveys.thanks import router as survey_thanks_router
from service.templating import make_templates
from service.unit_of_work import HEAD_SCOPE_KEY
from service.web.deps import MAX_BODY_BYTES
from service.web.errors import install_error_handlers
from service.webhooks.router import router as webhooks_router
from service.write_pipeline import WritePipeline

DESCRIPTION = """\
hailong issues single-use satisfaction surveys when a one-stop office hands a citizen the
result of an administrative procedure, and computes the scores of HCMC Decision 104/2024
and Decision 766/QĐ-TTg from the answers.

Errors are JSON `{"error": "<code>", "detail": "<sentence>"}`, plus `fields` for invalid
input. API routes take `Authorization: Bearer <api key>`.
"""


class ObservedRequests:
    """Every request's status and time, for /metrics and the request log (RequestRecorder).

    The one ASGI-level piece of the service, kept here beside the app it wraps: a pure ASGI
    middleware costs a few microseconds a request, BaseHTTPMiddleware many times that.
    """

    def __init__(self, app: ASGIApp, recorder: RequestRecorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            elapsed = time.perf_counter() - started
            self.recorder.record(scope["method"], route, scope["path"], status, elapsed)


class LimitedBodies:
    """No request body past MAX_BODY_BYTES is read: JSON bodies were read whole without a
    limit, and a public endpoint (an answer, a kiosk's lookup) could be sent gigabytes to
    hold in memory (answers audit). Refused at the first read past it, as an HTTPException
    the route's body reading lets through to the app's error handler: the API's JSON or a
    page, as every refusal (FastAPI's own max_body_size answered "Content Too Large" in
    plain text, from outside the app's handlers: review). A request whose body is never
    read is not refused for it.

    GET and HEAD pass untouched: no route reads their body (tests/web/test_errors.py holds
    every route to it), and their `receive` is a streamed response's or a file's ear for the
    client hanging up (exports, the kiosk's events; Starlette listens from before the
    response starts): a 413 raised there cut the stream with a server error (review)."""

    UNREAD = frozenset({"GET", "HEAD"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in self.UNREAD:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        too_large = declared.isdecimal() and int(declared) > MAX_BODY_BYTES
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if too_large:  # said so before a byte of it is read
                raise HTTPException(413, BODY_TOO_LARGE)
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:
                raise HTTPException(413, BODY_TOO_LARGE)
            return message

        await self.app(scope, limited, send)


class HeadAsGet:
    """HEAD is served as the GET of its path, without the body (RFC 9110 9.3.2: every
    general-purpose server supports GET and HEAD). FastAPI's routes list GET alone, so a
    link checker's HEAD (an SMS gateway's, a chat app's preview, `curl -I`) was a 405 on
    every page (audit). The request goes on as a GET with HEAD_SCOPE_KEY set, so that a
    page with a side effect skips it (UnitOfWork.only_looking); its body is dropped here,
    whatever the server (uvicorn drops it too). The route it matched is handed back to the
    scope ObservedRequests reads, for the metrics' route label."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        as_get = {**scope, "method": "GET", HEAD_SCOPE_KEY: True}

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(as_get, receive, headers_only)
        finally:
            if "route" in as_get:
                scope["route"] = as_get["route"]


BODY_TOO_LARGE = (
    f"The request body is larger than {MAX_BODY_BYTES // 1024} KB, which no request of this "
    "service needs: send the fields it takes, once."
)


# Writer threads per process for the units of work that write together (answers): on
# PostgreSQL one runs its batch while the other gathers the next; SQLite has one writer.
WRITE_THREADS = 2


# hailong reports through /metrics (Prometheus) and its JSON request log. FastAPI's own
# OpenTelemetry hooks, unused, still looked the providers up on every request: about a
# tenth of the event loop's time on the handover path (py-spy).
NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


YOUNG_COLLECTION_THRESHOLD = 20_000  # allocations between young collections (CPython: 700)


def freeze_startup_objects() -> None:
    """Hide what startup built from the garbage collector.

    The app, its routes, models, templates and compiled statements live as long as the
    process. Left in the collector's sight, each full collection walked all of them: pauses
    of about 100 ms every few seconds under load, with every request in flight waiting
    (they were the p99 of bench/handover.py). Collected once, then frozen, later full
    collections only walk what requests leave behind.
    """
    gc.collect()
    gc.freeze()
    # A request leaves thousands of container objects alive until it ends (rows, SQL,
    # pydantic models): at the default 700 the young collection ran every few requests,
    # mid-request, promoting their objects to older generations and the full collections
    # that walk them (8.8 % of a worker's CPU under the handover load, bench/README
    # "Twentieth look"). Run rarer, it finds most of them freed already: a JSON answer took
    # 1.27 ms of server CPU where it took 1.50, a form answer 3.15 where 3.57 (A/B,
    # "Twenty-fourth look").
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


def create_app(settings: Settings, *, freeze_heap: bool = False) -> FastAPI:
    """`freeze_heap`: for a server process (see freeze_startup_objects). Not for tests,
    which build many apps in one process: each one frozen would never be freed."""
    # A half-configured SMS or Zalo provider stops the start, naming what is missing.
    check_message_providers(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.engine = engine
        app.state.metrics.webhook_backlog.source = partial(delivery_backlog, engine)
        counters = CounterRebuild(engine, app.state.profile, app.state.write_lock)
        counters.at_start()
        put_first_answers_from_another_server(engine)
        app.state.handover_writer = HandoverWriter(
            engine,
            settings,
            app.state.profile,
            app.state.write_lock,
            app.state.metrics.handover_batch_size,
        )
        app.state.handover_writer.start()
        app.state.write_pipeline = WritePipeline(
            engine, 1 if settings.is_sqlite else WRITE_THREADS, app.state.write_lock
        )
        app.state.write_pipeline.start()
        # The kiosks' one feed of this process: it starts polling when a tablet connects.
        app.state.kiosk_feed = PresentationFeed(engine, settings.kiosk_present_minutes)
        worker = None
        if settings.embedded_worker:
            worker = start_embedded(engine, settings, app.state.profile, app.state.metrics)
        if freeze_heap:
            freeze_startup_objects()
        try:
            yield
        finally:
            if worker is not None:
                thread, stop = worker
                stop.set()
                thread.join(timeout=settings.webhook_timeout_seconds + 5)
            counters.stop()
            app.state.handover_writer.stop()
            app.state.write_pipeline.stop()
            engine.dispose()

    app = FastAPI(
        title="hailong",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        telemetry=NO_OPENTELEMETRY,
        # /docs is hailong's own page (ops/router.py); ReDoc would load a CDN too.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.templates = make_templates()
    app.state.metrics = Metrics()
    app.state.profile = profile_of(settings)
    app.state.key_cache = KeyCache(settings.auth_cache_seconds)
    # SQLite has one writer: queue units of work in order instead of busy-waiting on locks.
    app.state.write_lock = threading.Lock() if settings.is_sqlite else None
    settings.signing_key()  # fail at start, not on the first handover, if it is unreadable
    if settings.log_requests:
        configure_logging()
    install_error_handlers(app)
    if settings.embed_origin_list:
        # "Draw it yourself" (README): a portal's own page fetches the form and posts the
        # answer from the citizen's browser. Without these headers the JSON post's preflight
        # was a 405, so a portal had to relay through its server, where all its citizens
        # shared one address for the wrong-link count. No credentials and no Authorization
        # header: what a listed origin can read is what a citizen's browser can read without
        # a key; keys and the console's cookie stay out of portals' pages.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.embed_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            expose_headers=["Retry-After"],
            max_age=3600,
        )
    app.add_middleware(LimitedBodies)
    app.add_middleware(HeadAsGet)
    app.add_middleware(
        ObservedRequests, recorder=RequestRecorder(app.state.metrics, settings.log_requests)
    )
    # Routes are matched in order, one pattern after another: the requests that come most
    # (a citizen's answer, the survey page and its thank-you, a handover) are tried first.
    app.include_router(responses_router)
    app.include_router(survey_pages_router)
    app.include_router(survey_thanks_router)
    app.include_router(handovers_router)
    app.include_router(agencies_router)
    app.include_router(keys_router)
    app.include_router(officials_router)
    app.include_router(audit_router)
    app.include_router(exports_router)
    app.include_router(response_rate_exports_router)
    app.include_router(evaluations_router)
    app.include_router(raw_exports_router)
    app.include_router(scores_router)
    app.include_router(response_rates_router)
    app.include_router(petitions_router)
    app.include_router(reports_router)
    app.include_router(calendar_router)
    app.include_router(webhooks_router)
    app.include_router(alerts_router)
    app.include_router(kiosk_manage_router)
    app.include_router(kiosk_device_router)
    app.include_router(kiosk_page_router)
    app.include_router(survey_embed_router)
    app.include_router(survey_link_router)
    app.include_router(short_links_router)
    app.include_router(message_links_router)
    app.include_router(petition_followup_router)
    app.include_router(console_sign_in_router)
    app.include_router(console_entry_router)
    app.include_router(console_router)
    app.include_router(console_petitions_router)
    app.include_router(console_kiosks_router)
    app.include_router(console_audit_router)
    app.include_router(console_alerts_router)
    app.include_router(console_reports_router)
    app.include_router(public_pages_router)
    app.include_router(ops_router)
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    return app


def app_from_environment() -> FastAPI:
    """Entry point for uvicorn's factory mode (`hailong serve`)."""
    return create_app(get_settings(), freeze_heap=True)
