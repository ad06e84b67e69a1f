"""Kiosk routes: pairing management for keys, and the paired tablet's page and calls.

Management (`/api/v1/kiosk/...`) takes an admin key or a manager key of the agency. The
tablet's own calls (`/kiosk/api/...`) authenticate with the device cookie set at pairing
(or the same key as a bearer key, for a native kiosk app); they are JSON-only, so another
site cannot make the tablet post (a cross-site JSON post needs a CORS preflight).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from sqlmodel import Session
from starlette.responses import Response

from service.errors import NotFound, Unauthorized, error_responses
from service.i18n import gettext_for
from service.kiosk import pairing, presenting
from service.kiosk.feed import PresentationFeed
from service.kiosk.schemas import (
    DeviceList,
    DeviceOut,
    KioskAnswer,
    KioskAnswered,
    KioskState,
    LookupIn,
    NextSurvey,
    PairIn,
    PairingCreate,
    PairingCreated,
    SurveyCard,
)
from service.models import MAX_ROW_ID, utcnow
from service.settings import ROOT
from service.surveys import service as surveys
from service.surveys import throttle
from service.surveys.api_answers import checked_json_answers
from service.surveys.pages import ICONS
from service.surveys.security import CONTENT_SECURITY_POLICY, PAGE_HEADERS
from service.unit_of_work import ApiWork, PublicWork, UnitOfWork

COOKIE = "hl_kiosk"
COOKIE_PATH = "/kiosk"
COOKIE_SECONDS = 400 * 24 * 3600  # as long as browsers keep a cookie: pair once
STREAM_SECONDS = 300  # an event stream ends after this; the tablet reconnects by itself
KEEPALIVE_SECONDS = 15
CLOCK_SKEW = timedelta(minutes=2)
# The survey pages' policy, plus what the kiosk's script needs: its own API (fetch and the
# event stream), its service worker, its manifest (full screen from the home screen), and
# the tablet camera's picture for the QR scanner.
KIOSK_CSP = (
    CONTENT_SECURITY_POLICY
    + "; connect-src 'self'; worker-src 'self'; manifest-src 'self'; media-src 'self' blob:"
)
DEVICE_ERRORS = error_responses(401, 403, 404, 409, 410, 422, 429)

manage = APIRouter(prefix="/api/v1/kiosk", tags=["kiosk"])
device_api = APIRouter(prefix="/kiosk", tags=["kiosk tablet"])


# --- management -----------------------------------------------------------------------


@manage.post(
    "/pairings",
    status_code=201,
    response_model=PairingCreated,
    summary="Create a one-time code that pairs a tablet with a counter",
    responses=error_responses(401, 403, 422),
)
async def create_pairing(payload: PairingCreate, work: ApiWork) -> PairingCreated:
    def create(session: Session) -> PairingCreated:
        principal = work.principal(session, "manager", "admin")
        made = pairing.create_pairing(
            session,
            agency_code=payload.agency_code,
            counter_code=payload.counter_code,
            actor=principal.actor,
            principal=principal,
            minutes=work.settings.kiosk_pairing_minutes,
        )
        return PairingCreated(
            code=made.code,
            expires_at=made.expires_at,
            agency_code=made.agency.code,
            counter_code=made.counter.code,
            kiosk_url=f"{work.settings.base_url}/kiosk",
        )

    return await work.run(create)


def _device_out(device: pairing.Device) -> DeviceOut:
    assert device.key.id is not None
    return DeviceOut(
        id=device.key.id,
        name=device.key.name,
        agency_code=device.agency.code,
        counter_code=device.counter.code,
        paired_at=device.key.created_at,
        unpaired_at=device.key.revoked_at,
    )


@manage.get(
    "/devices",
    response_model=DeviceList,
    summary="Paired tablets (of the key's agencies)",
    responses=error_responses(401, 403),
)
async def list_devices(work: ApiWork) -> DeviceList:
    def read(session: Session) -> DeviceList:
        principal = work.principal(session, "manager", "admin")
        devices = [_device_out(d) for d in pairing.list_devices(session, principal.scope_path)]
        return DeviceList(data=devices, count=len(devices))

    return await work.run(read)


@manage.post(
    "/devices/{device_id}/unpair",
    response_model=DeviceOut,
    summary="Unpair a tablet: its device key stops working at once",
    responses=error_responses(401, 403, 404, 409),
)
async def unpair_device(
    device_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)], work: ApiWork
) -> DeviceOut:
    def unpair(session: Session) -> DeviceOut:
        principal = work.principal(session, "manager", "admin")
        device = pairing.unpair(session, device_id, actor=principal.actor, principal=principal)
        return _device_out(device)

    return await work.run(unpair)


# --- the tablet -------------------------------------------------------------------------


def _raw_device_key(request: Request) -> str:
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        return bearer.strip()
    return request.cookies.get(COOKIE, "")


def _device(session: Session, request: Request) -> pairing.Device:
    raw = _raw_device_key(request)
    device = pairing.device_for_key(session, raw) if raw else None
    if device is None:
        raise Unauthorized(
            "This tablet is not paired with a counter (or was unpaired). "
            "Enter a pairing code from the console."
        )
    return device


def _state(device: pairing.Device, idle_seconds: int) -> KioskState:
    return KioskState(
        agency_code=device.agency.code,
        agency_name=device.agency.name,
        counter_code=device.counter.code,
        counter_name=device.counter.name,
        idle_seconds=idle_seconds,
    )


def _feed(request: Request) -> PresentationFeed:
    """The process's one feed, made when the first tablet connects."""
    state = request.app.state
    try:
        feed: PresentationFeed = state.kiosk_feed
    except AttributeError:
        feed = state.kiosk_feed = PresentationFeed(state.engine)
    return feed


def _secure(work: UnitOfWork) -> bool:
    return work.settings.base_url.startswith("https://")


@device_api.get("", response_class=HTMLResponse, summary="The counter kiosk page")
async def kiosk_page(request: Request, work: PublicWork) -> Response:
    # The same page for every tablet and state (paired or not): the service worker keeps it
    # for offline use, and the page asks /kiosk/api/state who it is.
    profile = work.profile
    questions = [
        {
            "field": q.field,
            "required": q.required_on("kiosk"),
            "text": {lang: q.text(lang) for lang in ("vi", "en")},
            "answers": [
                {
                    "value": a.value,
                    "icon": a.icon,
                    "label": {lang: a.label(lang) for lang in ("vi", "en")},
                }
                for a in q.answers
            ],
        }
        for q in profile.survey.questions
    ]
    context = {
        "lang": "vi",
        "_": gettext_for("vi"),
        "_vi": gettext_for("vi"),
        "_en": gettext_for("en"),
        "config": {
            "questions": questions,
            "icons": ICONS,
            "complaint_max": profile.survey.complaint_max_chars,
            "idle_seconds": work.settings.kiosk_idle_seconds,
        },
    }
    response: Response = request.app.state.templates.TemplateResponse(
        request, "kiosk/page.html", context
    )
    response.headers.update(PAGE_HEADERS)
    response.headers["Content-Security-Policy"] = KIOSK_CSP
    response.headers["Cache-Control"] = "no-cache"
    return response


@device_api.get("/sw.js", include_in_schema=False)
async def service_worker() -> Response:
    return FileResponse(
        ROOT / "static" / "kiosk-sw.js",
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/kiosk", "Cache-Control": "no-cache"},
    )


@device_api.post(
    "/api/pair",
    response_model=KioskState,
    summary="Pair this tablet with a one-time code (sets the device cookie)",
    responses=error_responses(401, 422, 429),
)
async def pair(payload: PairIn, response: Response, work: PublicWork) -> KioskState:
    def redeem(session: Session) -> tuple[KioskState, str]:
        throttle.check_allowed(work.engine, work.settings, work.client_address)
        try:
            device, raw_key = pairing.redeem(session, payload.code)
        except pairing.PairingCodeInvalid:
            throttle.record_failure(work.engine, work.settings, work.client_address)
            raise
        return _state(device, work.settings.kiosk_idle_seconds), raw_key

    state, raw_key = await work.run(redeem)
    response.set_cookie(
        COOKIE,
        raw_key,
        max_age=COOKIE_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(work),
    )
    response.headers["Cache-Control"] = "no-store"
    return state


@device_api.get(
    "/api/state",
    response_model=KioskState,
    summary="Who this tablet is (its agency and counter)",
    responses=error_responses(401),
)
async def state(request: Request, work: PublicWork) -> KioskState:
    def read(session: Session) -> KioskState:
        return _state(_device(session, request), work.settings.kiosk_idle_seconds)

    return await work.run(read)


@device_api.get(
    "/api/next",
    response_model=NextSurvey,
    summary="The newest unanswered survey handed over at this counter (polling fallback)",
    responses=error_responses(401, 422),
)
async def next_survey(
    request: Request,
    work: PublicWork,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ROW_ID, description="Last cursor shown")
    ] = None,
) -> NextSurvey:
    def read(session: Session) -> NextSurvey:
        device = _device(session, request)
        assert device.counter.id is not None
        card = presenting.latest_for_counter(
            session, device.counter.id, after, work.settings.kiosk_present_minutes
        )
        return NextSurvey(survey=card)

    return await work.run(read)


@device_api.get(
    "/api/events",
    summary="Server-sent events: `survey` each time a survey is handed over at this counter",
    responses={
        200: {"description": "An event stream", "content": {"text/event-stream": {}}},
        **error_responses(401),
    },
)
async def events(request: Request, work: PublicWork) -> StreamingResponse:
    device = await work.run(lambda session: _device(session, request))
    assert device.counter.id is not None
    counter_id = device.counter.id
    feed = _feed(request)

    def still_paired() -> bool:
        with Session(work.engine) as session:
            return pairing.device_for_key(session, _raw_device_key(request)) is not None

    async def stream() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        async with feed.subscribe(counter_id) as queue:
            yield "event: ready\ndata: {}\n\n"
            ends = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < ends:
                try:
                    card = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
                except TimeoutError:
                    if not await anyio.to_thread.run_sync(still_paired):
                        yield "event: unpaired\ndata: {}\n\n"
                        return
                    yield ": still here\n\n"
                    continue
                data = card.model_dump_json()
                yield f"event: survey\nid: {card.cursor}\ndata: {data}\n\n"

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@device_api.post(
    "/api/lookup",
    response_model=SurveyCard,
    summary="Find a survey by the code a citizen typed or scanned at this tablet",
    responses=DEVICE_ERRORS,
)
async def lookup(payload: LookupIn, request: Request, work: PublicWork) -> SurveyCard:
    def find(session: Session) -> SurveyCard:
        device = _device(session, request)
        guesser = f"kiosk:{device.key.id}"
        throttle.check_allowed(work.engine, work.settings, guesser)
        try:
            card = presenting.present_typed(session, device, payload.code)
        except NotFound:
            throttle.record_failure(work.engine, work.settings, guesser)
            raise
        return card

    return await work.run(find)


@device_api.post(
    "/api/answers",
    status_code=201,
    response_model=KioskAnswered,
    summary="Store the answers given at this tablet (same client_submission_id: stored once)",
    responses={200: {"description": "Already stored", "model": KioskAnswered}, **DEVICE_ERRORS},
)
async def answer(
    payload: KioskAnswer, request: Request, response: Response, work: PublicWork
) -> KioskAnswered:
    def submit(session: Session) -> tuple[bool, int]:
        device = _device(session, request)
        issued = presenting.find_for_answer(session, device, payload.survey_id)
        earlier = surveys.replay_or_ensure_answerable(session, issued, payload.client_submission_id)
        if earlier is not None:
            assert earlier.id is not None
            return False, earlier.id
        answers = checked_json_answers(work.profile, payload.answers, "kiosk")
        now = utcnow()
        answered_at = payload.answered_at
        if answered_at is None or not (
            issued.invitation.issued_at - CLOCK_SKEW <= answered_at <= now + CLOCK_SKEW
        ):
            answered_at = now  # a tablet clock that is off does not move answers in time
        submitted = surveys.submit(
            session,
            issued,
            answers,
            work.profile,
            source="kiosk",
            client_submission_id=payload.client_submission_id,
            received_at=min(answered_at, now),
        )
        assert submitted.response.id is not None
        return submitted.created, submitted.response.id

    created, response_id = await work.run(submit)
    if not created:
        response.status_code = 200
    return KioskAnswered(response_id=response_id)
