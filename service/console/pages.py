"""Console pages: sign-in and sign-out, an agency's scores, staff, dossiers, complaints and
period inputs (D, E; TT 01/2018's 5, 6, 9). Petitions live in petition_pages.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, select
from starlette.responses import Response

from service.auth.principal import Principal
from service.auth.roles import MANAGERS
from service.console import service as listing
from service.console import sessions, tt01_card
from service.console.inputs_form import FormRead, read_inputs_form, read_tt01_form, stored_inputs
from service.console.service import complaints, costly_dossiers, overview
from service.console.web import (
    LANG_COOKIE,
    Console,
    ConsoleDep,
    Outcome,
    Redirect,
    period_choices,
)
from service.errors import NotFound
from service.i18n import LANGUAGES
from service.models import Agency
from service.periods import Period, has_begun
from service.profile import TT01_ENTERED, Profile
from service.scoring import inputs
from service.scoring.reach import agency_reach
from service.scoring.staff import staff_scores
from service.web.deps import FormDep
from service.web.pages import Page
from service.web.params import CodePath, OptionalPeriodQuery, PageQuery

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
# The console's entry, in the OpenAPI document as API.md names it (the document "must agree
# with this page"; a stranger looked for it there); its other pages are the console's own.
entry_router = APIRouter(prefix="/console", tags=["console"])
HOME_LEVELS = 1  # an unscoped key's home lists the tree down to this level


def agency_url(code: str, tab: str = "", period: str | None = None) -> str:
    url = f"/console/a/{code}" + (f"/{tab}" if tab else "")
    return url + (f"?period={period}" if period else "")


def _agency_context(
    console: Console, session: Session, who: Principal, code: str, period: str | None
) -> dict[str, Any]:
    agency = console.agency(session, who, code)
    chosen = console.period(period)
    return {
        "agency": agency,
        "period": chosen,
        "period_choices": period_choices(chosen),
        "agency_url": agency_url,
    }


# --- home and language (signing in and out: sign_in_pages.py) ------------------------------


@entry_router.get(
    "",
    response_class=HTMLResponse,
    summary="Agency managers' console: its home, or the sign-in page without a session",
    responses={303: {"description": "Not signed in, or an auditor: where to go"}},
)
async def home(console: ConsoleDep) -> Response:
    def show(session: Session) -> Outcome:
        who = console.who(session, sessions.CONSOLE_ROLES)
        if who.role not in MANAGERS:
            return Redirect("/console/audit")  # an auditor's one page
        if who.scope_agency_id is not None:
            agency = session.get(Agency, who.scope_agency_id)
            assert agency is not None
            return Redirect(agency_url(agency.code))
        agencies = session.exec(
            select(Agency).where(col(Agency.level) <= HOME_LEVELS).order_by(col(Agency.path))
        ).all()
        return Page("console/home.html", {"agencies": agencies})

    return await console.respond(show)


@router.get("/lang/{lang}")
async def switch_language(lang: str, console: ConsoleDep, next: str = "/console") -> Response:
    # Only back into the console: never an open redirect.
    target = next if next.startswith("/console") and not next.startswith("//") else "/console"
    response = RedirectResponse(target, status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 86400,
            path="/console",
            samesite="strict",
            secure=console.secure,
            httponly=True,
        )
    return response


# --- an agency -------------------------------------------------------------------------------


@router.get("/a/{code}", response_class=HTMLResponse)
async def agency_page(
    console: ConsoleDep,
    code: CodePath,
    period: OptionalPeriodQuery = None,
    saved: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    profile = console.work.profile

    def show(session: Session) -> Outcome:
        who = console.who(session)
        context = _agency_context(console, session, who, code, period)
        context["saved"] = saved
        _with_scores(console, session, who, context, profile)
        return Page("console/agency.html", context)

    return await console.respond(show)


# Each form's names in the agency page's context, when the page shows it again.
FORM_PREFIX = {"inputs": "", "tt01": "tt01_"}


async def _save_inputs(
    console: Console,
    code: str,
    form: dict[str, str],
    read: Callable[[dict[str, str], Profile], FormRead],
    part: Literal["inputs", "tt01"],
) -> Response:
    """Save what the official changed on a period inputs form (inputs_form.py), or show the
    agency page again with the form: with its problems (422), or with the values changed
    meanwhile under the official's changes (409) (`part`: which form, also the anchor)."""
    profile = console.work.profile
    prefix = FORM_PREFIX[part]

    def again(
        session: Session, who: Principal, context: dict[str, Any], **form_context: Any
    ) -> None:
        _with_scores(console, session, who, context, profile)
        context.update({prefix + name: value for name, value in form_context.items()})
        context["saved"] = None

    def save(session: Session) -> Outcome:
        console.check_csrf(form)
        who = console.who(session)
        context = _agency_context(console, session, who, code, form.get("period"))
        agency, period = context["agency"], context["period"]
        competent = inputs.is_competent(who, agency)
        sent = read(form, profile)
        if sent.problems or not competent or not has_begun(period):
            # The agency's own manager reads the inputs but does not set them (104/2024
            # art. 5.3, 7.3), and a period still to come has none (a page left open, or a
            # period typed in the address, got a bare error page in English; audit): the
            # page says which, in place of the form, and nothing is saved.
            again(session, who, context, values=form, problems=sent.problems, shown=sent.shown_text)
            return Page("console/agency.html", context, 422 if competent else 403)
        merged = sent.merge(stored_inputs(session, agency, period))
        if merged.conflicts:
            # Nothing saved: the form again with the official's changes in their fields and
            # the values stored now as the ones shown, so saving again replaces them knowingly.
            touched = {name: form.get(name, "") for name in merged.touched}
            again(session, who, context, values=touched, conflicts=merged.conflicts)
            return Page("console/agency.html", context, 409)
        # A form sent back as shown writes nothing, and says so: "saved" misled (audit).
        outcome, notice = f"{part}-same", f"{part}-unchanged"
        if merged.update is not None:
            inputs.set_inputs(session, who, agency, period, merged.update, profile)
            outcome, notice = part, f"{part}-saved"
        url = agency_url(code, period=period.key)
        # To the notice itself, which then has the focus: with the card's "#inputs" the
        # browser skipped the notice's autofocus, and "Đã lưu" was said to nobody
        # (console accessibility audit).
        return Redirect(f"{url}&saved={outcome}#{notice}")

    return await console.respond(save)


def _read_de_form(form: dict[str, str], profile: Profile) -> FormRead:
    return read_inputs_form(form, profile.k_score.d_max, profile.k_score.e_max)


def _read_tt01_form(form: dict[str, str], profile: Profile) -> FormRead:
    if profile.also is None:
        raise NotFound("This service computes no TT 01/2018 score.")
    keys = [i.key for i in profile.also.indicators if i.key in TT01_ENTERED]
    return read_tt01_form(form, keys, profile.also.max_points)


@router.post("/a/{code}/inputs", response_class=HTMLResponse)
async def set_inputs(console: ConsoleDep, code: CodePath, form: FormDep) -> Response:
    return await _save_inputs(console, code, form, _read_de_form, "inputs")


@router.post("/a/{code}/tt01-inputs", response_class=HTMLResponse)
async def set_tt01_inputs(console: ConsoleDep, code: CodePath, form: FormDep) -> Response:
    """TT 01/2018's indicators 5, 6 and 9, entered like E by the competent authority."""
    return await _save_inputs(console, code, form, _read_tt01_form, "tt01")


def _with_scores(
    console: Console, session: Session, who: Principal, context: dict[str, Any], profile: Profile
) -> None:
    """The agency page's scores and input forms, empty (a failed form fills its own)."""
    agency, period = context["agency"], context["period"]
    context["view"] = overview(session, agency, period, profile)
    context["d_max"], context["e_max"] = profile.k_score.d_max, int(profile.k_score.e_max)
    context["maxima"] = profile.k_score.maxima()
    context["k_max"] = profile.k_score.k_max()
    context["g5_max"] = profile.group5.maximum()
    context["can_set_inputs"] = inputs.is_competent(who, agency)
    context["period_begun"] = has_begun(period)
    context["tt01"] = tt01_card.card(session, agency, period, profile, console.lang)
    for prefix in FORM_PREFIX.values():
        for name in ("values", "problems", "shown", "conflicts"):
            context[prefix + name] = {}


# The agency's tabs: each adds its own rows to the agency's context.
TabRows = Callable[[Session, Agency, Period, Profile, int], dict[str, Any]]  # int: the page


def _staff_rows(
    session: Session, agency: Agency, period: Period, profile: Profile, _page: int
) -> dict[str, Any]:
    return {"staff": staff_scores(session, agency, period, profile)}


def _costly_rows(
    session: Session, agency: Agency, period: Period, profile: Profile, page: int
) -> dict[str, Any]:
    rows, total = costly_dossiers(session, agency, period, profile, page)
    k = profile.k_score
    return {
        "rows": rows,
        "total": total,
        "on_time_points": k.on_time_points,
        "supplements_from": k.supplements_overdue_from,
    }


def _reach_rows(
    session: Session, agency: Agency, period: Period, profile: Profile, _page: int
) -> dict[str, Any]:
    return {
        "by_counter": agency_reach(session, agency, period, "counter", profile),
        "by_staff": agency_reach(session, agency, period, "staff", profile),
        "by_channel": agency_reach(session, agency, period, "channel", profile),
        "reach_rules": profile.reach,
        "min_answers": profile.staff.min_evaluations_for_staff,
    }


def _complaint_rows(
    session: Session, agency: Agency, period: Period, _profile: Profile, page: int
) -> dict[str, Any]:
    rows, total = complaints(session, agency, period, page)
    return {"rows": rows, "total": total}


def _agency_tab(template: str, tab_rows: TabRows) -> Callable[..., Awaitable[Response]]:
    """The page of one of the agency's tabs: its context, with `tab_rows` added."""

    async def tab(
        console: ConsoleDep,
        code: CodePath,
        period: OptionalPeriodQuery = None,
        page: PageQuery = 1,
    ) -> Response:
        profile = console.work.profile

        def show(session: Session) -> Outcome:
            who = console.who(session)
            context = _agency_context(console, session, who, code, period)
            context.update(tab_rows(session, context["agency"], context["period"], profile, page))
            context.update(page=page, first=(page - 1) * listing.LIST_LIMIT + 1)
            return Page(template, context)

        return await console.respond(show)

    return tab


# The agency's tabs: path, route name, template and rows, one line each.
for path, name, template, tab_rows in (
    ("/a/{code}/staff", "staff_page", "console/staff.html", _staff_rows),
    ("/a/{code}/dossiers", "dossiers_page", "console/dossiers.html", _costly_rows),
    ("/a/{code}/complaints", "complaints_page", "console/complaints.html", _complaint_rows),
    ("/a/{code}/response-rates", "response_rates_page", "console/response_rates.html", _reach_rows),
):
    router.add_api_route(
        path, _agency_tab(template, tab_rows), response_class=HTMLResponse, name=name
    )
