"""The petitions inbox and answering a petition: the reply and when it was handled."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlmodel import Session
from starlette.responses import Response

from service.calendar.working_days import LOCAL_TZ
from service.console.format import input_time
from service.console.pages import agency_url
from service.console.petitions import Show, find_petition, inbox, petition_view
from service.console.web import Console, ConsoleDep, Outcome, Redirect
from service.errors import NotFound
from service.models import Agency, Petition, utcnow
from service.petitions import service as petitions
from service.profile import Profile
from service.text_clean import is_storable, strip_bidi_controls, textarea_text
from service.timebounds import OutOfRange, check_moment
from service.web.deps import FormDep
from service.web.pages import Page
from service.web.params import CodePath, PageQuery, RowIdPath

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
SHOWN_VERSION = "shown_version"  # the reply form's hidden field: petitions.reply_version


@router.get("/a/{code}/petitions", response_class=HTMLResponse)
async def inbox_page(
    console: ConsoleDep,
    code: CodePath,
    show: Annotated[str, Query(max_length=8)] = "open",
    page: PageQuery = 1,
) -> Response:
    shown: Show = show if show in get_args(Show) else "open"  # type: ignore[assignment]

    def read(session: Session) -> Outcome:
        who = console.who(session)
        agency = console.agency(session, who, code)
        return Page(
            "console/petitions.html",
            {
                "agency": agency,
                "agency_url": agency_url,
                "period": None,
                "show": shown,
                "inbox": inbox(session, agency, shown, page),
                "page": page,
            },
        )

    return await console.respond(read)


def _load(
    console: Console, session: Session, petition_id: int, *, lock: bool = False
) -> tuple[Petition, Agency]:
    who = console.who(session)
    petition = find_petition(session, petition_id, for_update=lock)
    missing = f"No petition has the id {petition_id}."
    if petition is None:
        raise NotFound(missing)
    agency = console.agency_by_id(session, who, petition.agency_id, missing)
    return petition, agency


def _detail(
    session: Session, petition: Petition, agency: Agency, profile: Profile, **extra: Any
) -> dict[str, Any]:
    return {
        "agency": agency,
        "agency_url": agency_url,
        "period": None,
        "petition": petition_view(session, petition, agency, profile),
        "reply_max": petitions.REPLY_MAX_CHARS,
        # The reply as stored now: a form re-shown after a refusal saves over this one.
        "reply_version": petitions.reply_version(petition),
        **extra,
    }


@router.get("/petitions/{petition_id}", response_class=HTMLResponse)
async def petition_page(
    console: ConsoleDep,
    petition_id: RowIdPath,
    saved: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    def read(session: Session) -> Outcome:
        petition, agency = _load(console, session, petition_id)
        assert console.principal is not None
        fixed = petitions.handling_time_is_fixed(
            console.principal, petition, agency, console.work.profile
        )
        values = {
            "reply": petition.reply or "",
            "handled_at": input_time(petition.handled_at or utcnow()),
        }
        return Page(
            "console/petition.html",
            _detail(
                session,
                petition,
                agency,
                console.work.profile,
                values=values,
                problems={},
                saved=saved,
                time_is_fixed=fixed,
            ),
        )

    return await console.respond(read)


def read_reply_form(
    form: dict[str, str],
    received_at: datetime,
    *,
    time_is_fixed: bool = False,
    handled_at_before: datetime | None = None,
) -> tuple[str, datetime | None, dict[str, str]]:
    """The reply and the handling time typed (None, and not read, when the time is fixed:
    petitions.handling_time_is_fixed), with the problems found. The form shows the stored
    time (`handled_at_before`) to the minute: sent back unchanged, it is that time to the
    second, or editing the reply's words turned a petition handled 30 s late on time."""
    problems: dict[str, str] = {}
    reply = strip_bidi_controls(textarea_text(form.get("reply", ""))).strip()
    if not reply:
        problems["reply"] = "missing"
    elif len(reply) > petitions.REPLY_MAX_CHARS:
        problems["reply"] = "too_long"
    elif not is_storable(reply):
        # The API's rule (Storable): PostgreSQL refused a NUL only when the row was written,
        # the form lost to the error page; SQLite stored it and the citizen read it.
        problems["reply"] = "control_character"
    handled_at = None
    if time_is_fixed:
        return reply, None, problems
    try:
        handled_at = datetime.fromisoformat(form.get("handled_at", "").strip())
    except ValueError:
        problems["handled_at"] = "invalid"
    if handled_at is not None:
        if handled_at.tzinfo is None:  # the manager types local time
            handled_at = handled_at.replace(tzinfo=LOCAL_TZ)
        try:  # first: a time near year 1 or 9999 with an offset overflows when converted
            check_moment(handled_at)
        except OutOfRange:
            problems["handled_at"], handled_at = "out_of_range", None
    if (
        handled_at is not None
        and handled_at_before is not None
        and input_time(handled_at) == input_time(handled_at_before)
    ):
        handled_at = handled_at_before
    if handled_at is not None:
        if handled_at < received_at.replace(second=0, microsecond=0):
            problems["handled_at"] = "before_received"
        elif handled_at > utcnow() + petitions.FUTURE_TOLERANCE:
            problems["handled_at"] = "future"
        # A minute-precision form: a reply "at" the minute of receipt is after it.
        handled_at = max(handled_at, received_at)
    return reply, handled_at, problems


@router.post("/petitions/{petition_id}/reply", response_class=HTMLResponse)
async def reply(console: ConsoleDep, petition_id: RowIdPath, form: FormDep) -> Response:
    def answer(session: Session) -> Outcome:
        console.check_csrf(form)
        petition, agency = _load(console, session, petition_id, lock=True)
        assert console.principal is not None
        fixed = petitions.handling_time_is_fixed(
            console.principal, petition, agency, console.work.profile
        )
        text, handled_at, problems = read_reply_form(
            form, petition.received_at, time_is_fixed=fixed, handled_at_before=petition.handled_at
        )
        shown = form.get(SHOWN_VERSION)
        # A form without it (a page from before it existed, a hand-made POST) may give a
        # first reply, never replace one it never showed (as inputs_form's shown fields).
        changed = (
            petition.reply is not None
            if shown is None
            else shown != petitions.reply_version(petition)
        )
        if changed or problems or (handled_at is None and not fixed):
            # Changed meanwhile (409): the reply saved since is on the page, this official's
            # words stay in the field, and a second send replaces it. Else what to fix (422).
            context = _detail(
                session,
                petition,
                agency,
                console.work.profile,
                values=form,
                problems={"reply": "changed_meanwhile"} if changed else problems,
                saved=None,
                time_is_fixed=fixed,
            )
            return Page("console/petition.html", context, 409 if changed else 422)
        petitions.record_reply(
            session, console.principal, petition, text, handled_at, console.work.profile
        )
        return Redirect(f"/console/petitions/{petition_id}?saved=reply")

    return await console.respond(answer)
