"""The console's kiosk tab: an agency's counters, their paired tablets, a pairing code for
a counter (shown once, on the page that made it) and unpairing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select
from starlette.responses import Response

from service.auth.principal import Principal
from service.console.pages import agency_url
from service.console.web import Console, ConsoleDep, Outcome, Redirect
from service.errors import InvalidInput, NotFound
from service.kiosk import pairing
from service.models import Agency, Counter
from service.web.deps import FormDep
from service.web.pages import Page
from service.web.params import CodePath, RowIdPath

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


def _context(console: Console, session: Session, who: Principal, code: str) -> dict[str, Any]:
    agency = console.agency(session, who, code)
    devices = [d for d in pairing.list_devices(session, agency.path) if d.agency.id == agency.id]
    counters = session.exec(
        select(Counter).where(Counter.agency_id == agency.id).order_by(col(Counter.code))
    ).all()
    return {
        "agency": agency,
        "agency_url": agency_url,
        "period": None,
        "devices": devices,
        "counters": counters,
        "kiosk_url": f"{console.settings.base_url}/kiosk",
        "new_pairing": None,
        "values": {},
        "problem": None,
    }


@router.get("/a/{code}/kiosks", response_class=HTMLResponse)
async def kiosks_page(
    console: ConsoleDep, code: CodePath, unpaired: Annotated[str | None, Query(max_length=4)] = None
) -> Response:
    def show(session: Session) -> Outcome:
        context = _context(console, session, console.who(session), code)
        context["unpaired"] = unpaired is not None
        return Page("console/kiosks.html", context)

    return await console.respond(show)


@router.post("/a/{code}/kiosks/pairings", response_class=HTMLResponse)
async def make_pairing_code(console: ConsoleDep, code: CodePath, form: FormDep) -> Response:
    def make(session: Session) -> Outcome:
        console.check_csrf(form)
        who = console.who(session)
        context = _context(console, session, who, code)
        try:
            # By the API's rule: the counters this page offers came from handovers.
            counter_code = pairing.checked_counter_code(form.get("counter_code", ""))
        except InvalidInput:
            context.update(values=form, problem="counter_code")
            return Page("console/kiosks.html", context, 422)
        context["new_pairing"] = pairing.create_pairing(
            session,
            agency_code=code,
            counter_code=counter_code,
            actor=who.actor,
            principal=who,
            minutes=console.settings.kiosk_pairing_minutes,
        )
        context["counters"] = session.exec(
            select(Counter)
            .where(Counter.agency_id == context["agency"].id)
            .order_by(col(Counter.code))
        ).all()
        return Page("console/kiosks.html", context, 201)

    return await console.respond(make)


@router.post("/a/{code}/kiosks/{device_id}/unpair", response_class=HTMLResponse)
async def unpair_device(
    console: ConsoleDep, code: CodePath, device_id: RowIdPath, form: FormDep
) -> Response:
    console.back = agency_url(code, "kiosks")  # the language link's way back (web._here_of)

    def unpair(session: Session) -> Outcome:
        console.check_csrf(form)
        who = console.who(session)
        agency: Agency = console.agency(session, who, code)
        device = pairing.find_device(session, device_id)
        if device is None or device.agency.id != agency.id:
            raise NotFound(f"Agency '{code}' has no paired kiosk {device_id}.")
        if form.get("confirm") != "1":
            # The button sits beside each tablet, rows stacked as cards on a phone: one tap
            # stopped a counter's tablet at once, and only a new code typed at that counter
            # brought it back (console audit). It asks first, naming the counter.
            context = _context(console, session, who, code)
            context["confirm_unpair"] = device
            return Page("console/kiosks.html", context)
        pairing.unpair(session, device_id, actor=who.actor, principal=who)
        return Redirect(agency_url(code, "kiosks") + "?unpaired=1")

    return await console.respond(unpair)
