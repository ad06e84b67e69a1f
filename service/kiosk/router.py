"""Kiosk routes: pairing management for keys, and the paired tablet's calls (its page:
pages.py).

Management (`/api/v1/kiosk/...`) takes an admin key or a manager key of the agency. The
tablet's own calls (`/kiosk/api/...`) authenticate with the device cookie set at pairing
(or the same key as a bearer key, for a native kiosk app); they are JSON-only, so another
site cannot make the tablet post (a cross-site JSON post needs a CORS preflight).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session
from starlette.responses import Response

from service.auth.keys import bearer_key
from service.errors import ServiceError
from service.i18n import spoken_language
from service.kiosk import events as event_stream
from service.kiosk import pairing, presenting, service, tickets
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
    WaitingSurveys,
)
from service.models import MAX_ROW_ID
from service.petitions import followup
from service.unit_of_work import UnitOfWork
from service.web.deps import ManagerWork, PublicWork
from service.web.errors import error_responses
from service.web.params import RowIdPath
from service.web.routes import created_or_known

COOKIE = "hl_kiosk"
COOKIE_PATH = "/kiosk"
COOKIE_SECONDS = 400 * 24 * 3600  # as long as browsers keep a cookie: pair once
DEVICE_ERROR_CODES = (403, 404, 409, 410, 422, 429)
log = logging.getLogger(__name__)

# Every management call needs a manager or admin key (401, 403).
manage = APIRouter(prefix="/api/v1/kiosk", tags=["kiosk"], responses=error_responses(401, 403))
# Every tablet call is refused (401) without a valid device key, or for /api/pair a valid
# pairing code. The tablet's page, which needs neither, is in pages.py.
device_api = APIRouter(prefix="/kiosk", tags=["kiosk tablet"], responses=error_responses(401))


# --- management -----------------------------------------------------------------------


@manage.post(
    "/pairings",
    status_code=201,
    response_model=PairingCreated,
    summary="Create a one-time code that pairs a tablet with a counter",
    responses=error_responses(422),
)
async def create_pairing(payload: PairingCreate, work: ManagerWork) -> PairingCreated:
    def create(session: Session) -> PairingCreated:
        principal = work.principal(session)
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


@manage.get("/devices", response_model=DeviceList, summary="Paired tablets (of the key's agencies)")
async def list_devices(work: ManagerWork) -> DeviceList:
    def read(session: Session) -> DeviceList:
        principal = work.principal(session)
        devices = [
            service.device_out(d) for d in pairing.list_devices(session, principal.scope_path)
        ]
        return DeviceList(data=devices, count=len(devices))

    return await work.run(read)


@manage.post(
    "/devices/{device_id}/unpair",
    response_model=DeviceOut,
    summary="Unpair a tablet: its device key stops working at once",
    responses=error_responses(404, 409),
)
async def unpair_device(device_id: RowIdPath, work: ManagerWork) -> DeviceOut:
    def unpair(session: Session) -> DeviceOut:
        principal = work.principal(session)
        device = pairing.unpair(session, device_id, actor=principal.actor, principal=principal)
        return service.device_out(device)

    return await work.run(unpair)


# --- the tablet -------------------------------------------------------------------------


def _raw_device_key(request: Request) -> str:
    return bearer_key(request.headers.get("authorization")) or request.cookies.get(COOKIE, "")


def _device(session: Session, request: Request) -> pairing.Device:
    return service.require_device(session, _raw_device_key(request))


def _feed(request: Request) -> PresentationFeed:
    """The process's one feed (made with the app's engine, app.py's lifespan)."""
    feed: PresentationFeed = request.app.state.kiosk_feed
    return feed


def _stamped(work: UnitOfWork, device: pairing.Device, card: SurveyCard) -> SurveyCard:
    """Every card leaves for a tablet with its ticket (kiosk/tickets.py): the answer kept in
    the outbox is still accepted once the tablet is paired at another agency."""
    return tickets.stamped(card, work.settings.signing_key(), device.agency.id)


def _secure(work: UnitOfWork) -> bool:
    return work.settings.base_url.startswith("https://")


@device_api.post(
    "/api/pair",
    response_model=KioskState,
    summary="Pair this tablet with a one-time code (sets the device cookie)",
    responses=error_responses(422, 429),
)
async def pair(
    payload: PairIn, request: Request, response: Response, work: PublicWork
) -> KioskState:
    state, raw_key = await service.pair(work, payload.code, _raw_device_key(request))
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
    "/api/state", response_model=KioskState, summary="Who this tablet is (its agency and counter)"
)
async def state(request: Request, work: PublicWork) -> KioskState:
    return await work.run(
        lambda s: service.device_state(_device(s, request), work.settings.kiosk_idle_seconds)
    )


@device_api.get(
    "/api/next",
    response_model=NextSurvey,
    summary="The newest unanswered survey handed over at this counter (polling fallback)",
    responses=error_responses(422),
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
        return NextSurvey(survey=_stamped(work, device, card) if card else None)

    return await work.run(read)


@device_api.get(
    "/api/waiting",
    response_model=WaitingSurveys,
    summary="Every unanswered survey handed over at this counter lately, oldest first",
)
async def waiting_surveys(request: Request, work: PublicWork) -> WaitingSurveys:
    """Read by the tablet at each (re)connect of its event stream and now and then: the
    stream only carries what is handed over while it is open."""

    def read(session: Session) -> WaitingSurveys:
        device = _device(session, request)
        assert device.counter.id is not None
        cards = presenting.waiting_for_counter(
            session, device.counter.id, work.settings.kiosk_present_minutes
        )
        return WaitingSurveys(surveys=[_stamped(work, device, card) for card in cards])

    return await work.run(read)


@device_api.get(
    "/api/events",
    summary="Server-sent events: `survey` each time a survey is handed over at this counter",
    responses={200: {"description": "An event stream", "content": {"text/event-stream": {}}}},
)
async def events(request: Request, work: PublicWork) -> StreamingResponse:
    device = await work.run(lambda session: _device(session, request))
    assert device.counter.id is not None
    raw_key = _raw_device_key(request)
    assert device.key.id is not None
    stream = event_stream.stream(
        _feed(request),
        device.counter.id,
        device.key.id,
        lambda: service.still_paired(work.engine, raw_key),
        lambda card: _stamped(work, device, card),
    )
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


@device_api.post(
    "/api/lookup",
    response_model=SurveyCard,
    summary="Find a survey by the code a citizen typed or scanned at this tablet",
    responses=error_responses(*DEVICE_ERROR_CODES),
)
async def lookup(payload: LookupIn, request: Request, work: PublicWork) -> SurveyCard:
    return await service.lookup(work, _raw_device_key(request), payload.code)


@device_api.post(
    "/api/answers",
    summary="Store the answers given at this tablet (same client_submission_id: stored once)",
    **created_or_known(KioskAnswered, "Already stored", errors=DEVICE_ERROR_CODES),
)
async def answer(
    payload: KioskAnswer,
    request: Request,
    response: Response,
    work: PublicWork,
    content_language: Annotated[
        str | None,
        Header(description="The screen's language when the citizen answered (vi or en)"),
    ] = None,
) -> KioskAnswered:
    settings = work.settings
    # A header, not a field of the body: a tablet that loaded a newer page than the server
    # it posts to (a deploy under way) would have its answer refused for an unknown field,
    # and the tablet drops what is refused. A tag it cannot read is no language, not a 422.
    language = spoken_language(content_language)

    def submit(session: Session) -> tuple[bool, KioskAnswered]:
        device = _device(session, request)
        answered = service.answer(
            session, device, payload, work.profile, settings.signing_key(), language
        )
        link = followup.shown_link(
            session, answered.petition, settings.signing_key(), settings.base_url
        )
        return answered.created, KioskAnswered(response_id=answered.response_id, followup_url=link)

    try:
        created, answered = await work.write(submit)
    except ServiceError as refused:
        # The tablet thanked the citizen when the answer entered its outbox, and drops one
        # refused for good: this line is where such a loss is seen.
        log.warning(
            "kiosk answer refused: %s %s (survey %s, submission %s)",
            refused.status_code,
            refused.code,
            payload.survey_id,
            payload.client_submission_id,
        )
        raise
    if not created:
        response.status_code = 200
    response.headers["Cache-Control"] = "no-store"  # it may carry the private follow-up link
    return answered
