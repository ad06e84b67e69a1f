"""What every console page shares: the session cookie, CSRF, language and errors.

A page's work runs in one unit of work and returns a `Page` (service/web/pages.py) or a
`Redirect`; rendering and cookies happen after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session
from starlette.responses import Response

from service.admin.agencies import visible_agency
from service.auth.principal import Principal
from service.auth.roles import MANAGERS
from service.calendar.working_days import local_date
from service.console import csrf, sessions
from service.console.format import Formatter
from service.errors import Forbidden, ServiceError
from service.i18n import CONSOLE_LANG_COOKIE, pick_language
from service.kiosk.pairing import AlreadyUnpaired
from service.models import Agency, utcnow
from service.periods import Period, parse_period, period_containing
from service.petitions.service import ReplyJudged
from service.unit_of_work import UnitOfWork
from service.web.deps import PublicWork
from service.web.pages import PAGE_HEADERS, Page, render

LANG_COOKIE = CONSOLE_LANG_COOKIE
log = logging.getLogger("hailong.console")
SIGN_IN = "/console/sign-in"
Kind = Literal["month", "quarter", "year"]


class SignedOut(Exception):
    """No valid session (absent, expired, forged, or its key revoked): go and sign in."""


@dataclass
class Redirect:
    location: str


Outcome = Page | Redirect


class BadPeriod(ServiceError):
    status_code = 422
    code = "invalid_period"


class PageNotForRole(Forbidden):
    """A 403 "forbidden", as any: the console says which pages the role has."""


class AuditLogNotForRole(PageNotForRole):
    """The audit log refused to a role without it (a manager): sent back to it by the
    auditor's sentence, they were shown the page that had just refused them (console
    audit)."""


# What the error page says, in the page's language, for the refusals it knows; any other
# shows the service's own (English) sentence under the status's heading. One sentence per
# status said "the citizen has judged this petition" to a kiosk unpaired twice (audit).
_REASONS: tuple[tuple[type[ServiceError], str], ...] = (
    (csrf.CsrfRejected, "csrf"),
    (AuditLogNotForRole, "role_other"),
    (PageNotForRole, "role"),
    (Forbidden, "scope"),
    (ReplyJudged, "judged"),
    (AlreadyUnpaired, "unpaired"),
    (BadPeriod, "period"),
)


def error_page(exc: ServiceError) -> Page:
    reason = next((name for kind, name in _REASONS if isinstance(exc, kind)), None)
    context = {"status": exc.status_code, "reason": reason, "detail": exc.detail}
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
        # The page asked for when signed out, to lead to after the sign-in (set_next), and
        # whether a sign-in has used it up (after_sign_in).
        self.set_next: str | None = None
        self.next_used = False
        # The page a form's answer (its error pages too) leads back to, for its language
        # link, where the form's address has no page above it (set by the route).
        self.back: str | None = None

    # --- inside the unit of work ---------------------------------------------------------

    def who(self, db: Session, roles: tuple[str, ...] = MANAGERS) -> Principal:
        if self.session is None:
            raise SignedOut
        principal = sessions.principal_for(
            db,
            self.session,
            key_sign_in=self.settings.console_key_sign_in,
            provider_sign_in=self.settings.oidc_enabled,
        )
        if principal is None:
            raise SignedOut
        self.principal = principal
        if principal.role not in roles:
            if principal.role == "auditor":  # on a manager's page
                raise PageNotForRole(
                    f"This page is not open to the role '{principal.role}'; an auditor "
                    "reads the audit log at /console/audit."
                )
            raise AuditLogNotForRole(  # the one page a manager is refused
                f"This page is not open to the role '{principal.role}'; the audit log is "
                "for administrators and auditors."
            )
        return principal

    def log_problem(self, exc: Exception) -> None:
        """A sign-in that failed at the identity provider: the official sees a sentence,
        the operator the reason."""
        log.warning("console sign-in failed: %s", exc)

    def check_csrf(self, form: dict[str, str]) -> None:
        csrf.check(
            self.signing_key, self.session.sid if self.session else None, form.get(csrf.FIELD)
        )

    def agency(self, db: Session, principal: Principal, code: str) -> Agency:
        return visible_agency(db, principal, code)

    def agency_by_id(
        self, db: Session, principal: Principal, agency_id: int, missing: str
    ) -> Agency:
        """The agency of a record found by id: one beyond the official's part of the tree
        is answered as the record missing (`missing`)."""
        agency = db.get(Agency, agency_id)
        principal.require_visible(agency, missing)
        assert agency is not None
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
            outcome = await self.signed_out()
        except ServiceError as exc:
            outcome = error_page(exc)
        return self.render(outcome)

    async def signed_out(self) -> Redirect:
        """To the sign-in page, the cookie cleared. A session refused is ended, not only
        refused: one of an official disabled, or a key's while key sign-in was off, came
        back to life when the official was enabled or key sign-in turned on again (audit)."""
        self.clear_session = True
        if (refused := self.session) is not None:
            await self.work.run(lambda db: sessions.end(db, refused))
        if self.request.method == "GET":
            self.set_next = sessions.safe_next(_here_of(self.request, None))
        return Redirect(SIGN_IN)

    def after_sign_in(self) -> str:
        """Where a sign-in leads: the page asked for before it (an alert e-mail's link),
        else the front page."""
        self.next_used = True
        wanted = sessions.safe_next(self.request.cookies.get(sessions.NEXT_COOKIE))
        return wanted or "/console"

    def render(self, outcome: Outcome) -> Response:
        response: Response
        if isinstance(outcome, Redirect):
            response = RedirectResponse(outcome.location, status_code=303)
            response.headers.update(PAGE_HEADERS)
        else:
            session = self.new_session or self.session
            response = render(
                self.request,
                outcome,
                self.lang,
                fmt=Formatter(self.lang),
                who=self.principal,
                csrf_token=csrf.token_for(self.signing_key, session.sid) if session else "",
                here=_here_of(self.request, self.back),
                key_sign_in=self.settings.console_key_sign_in,
                oidc_name=self.settings.oidc_provider_name if self.settings.oidc_enabled else None,
                refused=outcome.status >= 400,
            )
        if self.new_session is not None:
            sessions.set_cookie(response, self.new_session, self.signing_key, secure=self.secure)
        elif self.clear_session and self.request.cookies.get(sessions.COOKIE):
            sessions.clear_cookie(response, secure=self.secure)
        if self.set_next is not None:
            sessions.remember_next(response, self.set_next, secure=self.secure)
        elif self.next_used and self.request.cookies.get(sessions.NEXT_COOKIE):
            sessions.forget_next(response, secure=self.secure)
        return response


def _here_of(request: Request, back: str | None) -> str:
    """Where a page's language link returns: the address it was shown at; for a page
    answering a form (a POST), the page its route names (`back`), else the one above the
    form's address (…/inputs: the agency's page; …/kiosks/pairings: the kiosks page): the
    form's own address was a 405 (pages audit), and one without a page above it a 404
    (review). A page may name it too (context "here", which wins)."""
    path = request.url.path
    if request.method != "GET":
        page = back or path.rsplit("/", 1)[0] or "/console"
        # At the period the form was about: a refused D and E of 2025-Q3 led, in the
        # other language, to the current quarter's page (console audit). Added to the
        # page's own query (an alerts page's ?agency=: review).
        period = (getattr(request.state, "posted_form", None) or {}).get("period", "")
        with suppress(ValueError):
            key = parse_period(period).key
            where, _, own = page.partition("?")
            kept = [(k, v) for k, v in parse_qsl(own, keep_blank_values=True) if k != "period"]
            return f"{where}?{urlencode([*kept, ('period', key)])}"
        return page
    # Without the notice of a change just saved (?saved=): it was told again in the other
    # language, as if saved twice (console audit).
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "saved"]
    return path + (f"?{urlencode(query)}" if query else "")


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
