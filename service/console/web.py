"""What every console page shares: the session cookie, CSRF, language, errors, rendering.

A page's work runs in one unit of work and returns a `Page` or a `Redirect`; rendering and
cookies happen after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session
from starlette.responses import Response

from service.admin.agencies import get_agency_by_code
from service.admin.keys import Principal
from service.calendar.working_days import local_date
from service.console import csrf, sessions
from service.console.format import Formatter
from service.errors import NotFound, ServiceError
from service.i18n import gettext_for, pick_language
from service.models import Agency, utcnow
from service.scoring.periods import Period, parse_period, period_containing
from service.surveys.security import harden
from service.unit_of_work import PublicWork, UnitOfWork

LANG_COOKIE = "hl_console_lang"
SIGN_IN = "/console/sign-in"
MAX_FORM_BYTES = 32 * 1024
Kind = Literal["month", "quarter", "year"]


class SignedOut(Exception):
    """No valid session (absent, expired, forged, or its key revoked): go and sign in."""


@dataclass
class Page:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200


@dataclass
class Redirect:
    location: str


Outcome = Page | Redirect


async def form_fields(request: Request) -> dict[str, str]:
    """The url-encoded form; repeated keys: last wins. Oversized bodies are not read."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {"__too_large__": "1"}
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


FormDep = Annotated[dict[str, str], Depends(form_fields)]


def error_page(exc: ServiceError) -> Page:
    # The detail sentence is English (service errors); the heading is per status, in the
    # page's language.
    context = {"status": exc.status_code, "code": exc.code, "detail": exc.detail}
    return Page("console/error.html", context, exc.status_code)


class Console:
    """One console request: its cookie session, language and the key behind it."""

    def __init__(self, request: Request, work: UnitOfWork) -> None:
        self.request, self.work = request, work
        self.settings = work.settings
        self.signing_key = work.settings.signing_key()
        self.secure = work.settings.base_url.startswith("https://")
        self.session = sessions.decode(request.cookies.get(sessions.COOKIE), self.signing_key)
        self.lang = pick_language(
            request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)
        )
        self.principal: Principal | None = None
        self.new_session: sessions.ConsoleSession | None = None
        self.clear_session = False

    # --- inside the unit of work ---------------------------------------------------------

    def who(self, db: Session) -> Principal:
        if self.session is None or self.session.key_id is None:
            raise SignedOut
        principal = sessions.principal_for(db, self.session.key_id)
        if principal is None:
            raise SignedOut
        self.principal = principal
        return principal

    def check_csrf(self, form: dict[str, str]) -> None:
        csrf.check(
            self.signing_key, self.session.sid if self.session else None, form.get(csrf.FIELD)
        )

    def agency(self, db: Session, principal: Principal, code: str) -> Agency:
        agency = get_agency_by_code(db, code)
        if agency is None:
            raise NotFound(f"No agency has the code '{code}'.")
        principal.require_scope(agency)
        return agency

    def agency_by_id(self, db: Session, principal: Principal, agency_id: int) -> Agency:
        agency = db.get(Agency, agency_id)
        assert agency is not None
        principal.require_scope(agency)
        return agency

    def period(self, text: str | None) -> Period:
        if not text:
            return current_quarter()
        try:
            return parse_period(text)
        except ValueError as exc:
            raise BadPeriod(str(exc)) from None

    # --- around it -----------------------------------------------------------------------

    async def respond(self, work: Callable[[Session], Outcome]) -> Response:
        try:
            outcome = await self.work.run(work)
        except SignedOut:
            self.clear_session = True
            outcome = Redirect(SIGN_IN)
        except ServiceError as exc:
            outcome = error_page(exc)
        return self.render(outcome)

    def render(self, outcome: Outcome) -> Response:
        response: Response
        if isinstance(outcome, Redirect):
            response = RedirectResponse(outcome.location, status_code=303)
        else:
            session = self.new_session or self.session
            context = {
                "lang": self.lang,
                "_": gettext_for(self.lang),
                "fmt": Formatter(self.lang),
                "who": self.principal,
                "csrf_token": csrf.token_for(self.signing_key, session.sid) if session else "",
                "here": self.request.url.path
                + (f"?{self.request.url.query}" if self.request.url.query else ""),
                **outcome.context,
            }
            templates = self.request.app.state.templates
            response = templates.TemplateResponse(
                self.request, outcome.template, context, status_code=outcome.status
            )
        if self.new_session is not None:
            sessions.set_cookie(response, self.new_session, self.signing_key, secure=self.secure)
        elif self.clear_session and self.request.cookies.get(sessions.COOKIE):
            sessions.clear_cookie(response, secure=self.secure)
        return harden(response)


class BadPeriod(ServiceError):
    status_code = 422
    code = "invalid_period"


def current_quarter() -> Period:
    return period_containing(local_date(utcnow()), "quarter")


def period_choices(chosen: Period) -> dict[str, list[str]]:
    """The periods a manager usually wants, newest first, grouped by kind for a <select>."""
    today = local_date(utcnow())
    choices: dict[str, list[str]] = {"quarter": [], "month": [], "year": []}
    shown: tuple[tuple[Kind, int], ...] = (("quarter", 8), ("month", 12), ("year", 3))
    for kind, count in shown:
        period = period_containing(today, kind)
        for _ in range(count):
            choices[kind].append(period.key)
            period = period.previous()
    if chosen.key not in choices[chosen.kind]:
        choices[chosen.kind].append(chosen.key)
    return choices


async def _console(request: Request, work: PublicWork) -> Console:
    return Console(request, work)


ConsoleDep = Annotated[Console, Depends(_console)]
