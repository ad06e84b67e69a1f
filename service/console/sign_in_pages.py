"""Signing in to the console and out of it.

Officials sign in through the province's identity provider (OpenID Connect, when
HAILONG_OIDC_ISSUER is set; service/auth/oidc.py); a small office without one pastes an
API key (while HAILONG_CONSOLE_KEY_SIGN_IN is true). Either way the session is a row on the
server (sessions.py) that signing out ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session
from starlette.responses import Response

from service import throttle
from service.audit import record
from service.auth import oidc
from service.auth.compare import same_secret
from service.auth.keys import lapsed_key, principal_for_key
from service.auth.officials import NotAnOfficial, official_for_claims, official_principal
from service.auth.principal import Principal
from service.console import sessions
from service.console.web import (
    SIGN_IN,
    Console,
    ConsoleDep,
    Outcome,
    Redirect,
    SignedOut,
    error_page,
)
from service.errors import ServiceError
from service.text_clean import storable_text
from service.web.deps import FormDep
from service.web.pages import Page

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
PENDING_COOKIE = "hl_oidc"  # the state, nonce and PKCE verifier of a sign-in under way
PENDING_PATH = "/console/sign-in/oidc"
PENDING_PURPOSE = "console-oidc"


def _signed_in(console: ConsoleDep, session: Session, principal: Principal, via: str) -> Outcome:
    """A fresh session (never the pre-session's id: no fixation), kept on the server; the
    browser's previous one, if it was signed in, ends (a shared counter PC: a copy of the
    first person's cookie lived on for its 8 hours)."""
    if console.session is not None:
        sessions.end(session, console.session)
    console.new_session = sessions.new_session(signed_in=True)
    sessions.start(session, console.new_session, principal)
    record(session, principal.actor, "console.sign_in", None, {"via": via})
    return Redirect(console.after_sign_in())


def _problem_page(
    console: ConsoleDep,
    problem: str,
    status: int,
    reason: str | None = None,
    email: str | None = None,
) -> Page:
    """The sign-in page telling `problem`, shown at one of the provider's addresses. Its
    language link (`here`) leads to the sign-in page, not back to that address: the
    callback's carries the spent code and state, and opened again it said "this sign-in has
    expired" instead of why the official was refused (audit). The problem is not handed
    on: a link that told it told it to anyone it was sent to, an official included, that
    their account was locked (review); signed in another language, the refusal is told
    again."""
    context = {"problem": problem, "reason": reason, "email": email}
    if console.session is None:
        # At the provider's callback, a cross-site navigation, the browser sends no console
        # cookie (SameSite=Strict): the page's key form had no session for its token, and
        # was refused as forged (audit). A fresh pre-session, as the sign-in form's.
        console.new_session = sessions.pre_session(None)
    return Page("console/sign_in.html", context | {"here": SIGN_IN}, status)


def _signed_in_already(console: ConsoleDep, session: Session) -> bool:
    return console.session is not None and (
        sessions.principal_for(
            session,
            console.session,
            key_sign_in=console.settings.console_key_sign_in,
            provider_sign_in=console.settings.oidc_enabled,
        )
        is not None
    )


def _sign_in_form(
    console: ConsoleDep,
    session: Session,
    problem: str | None,
    status: int = 200,
    **about: object,
) -> Page:
    """The sign-in form, whose CSRF token rests on the pre-session: its hour starts again
    each time the form is shown (the same id, so a form open in another tab keeps working).
    Kept with its first expiry, a form opened a minute ago was refused as out of date when
    the first visit was almost an hour before (audit)."""
    if not _signed_in_already(console, session):
        if console.session is not None:
            # A session refused (a key's while key sign-in is off) is ended, not only
            # refused, as Console.signed_out ends one: met here first, it came back to
            # life when key sign-in was turned on again (console audit). A pre-session
            # has no row: nothing to end.
            sessions.end(session, console.session)
        console.new_session = sessions.pre_session(console.session)
    return Page("console/sign_in.html", {"problem": problem, **about}, status)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(console: ConsoleDep) -> Response:
    def show(session: Session) -> Outcome:
        if _signed_in_already(console, session):
            return Redirect("/console")
        return _sign_in_form(console, session, None)

    return await console.respond(show)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in_with_key(console: ConsoleDep, form: FormDep) -> Response:
    work = console.work
    if not work.settings.console_key_sign_in:
        return console.render(Page("console/sign_in.html", {"problem": "key_sign_in_off"}, 403))

    def check(session: Session, guess: throttle.Guess) -> Outcome:
        console.check_csrf(form)
        raw_key = form.get("key", "").strip()
        principal = guess.look(session, lambda: principal_for_key(session, raw_key))
        if principal is None:
            lapsed = lapsed_key(session, raw_key)
            if lapsed is not None:
                problem = "revoked_key" if lapsed.revoked_at is not None else "expired_key"
                ended = lapsed.revoked_at or lapsed.expires_at
                return _sign_in_form(console, session, problem, 401, ended=ended)
            return _sign_in_form(console, session, "unknown_key", 401)
        if principal.role not in sessions.CONSOLE_ROLES:
            record(
                session, principal.actor, "console.sign_in_refused", None, {"role": principal.role}
            )
            return _sign_in_form(console, session, "wrong_role", 403)
        return _signed_in(console, session, principal, "key")

    return await _guarded(console, check)


async def _guarded(
    console: Console, work: Callable[[Session, throttle.Guess], Outcome]
) -> Response:
    """`work` with its wrong guesses counted against the client's address: past
    HAILONG_GUESS_LIMIT the sign-in page's 429, saying when to try again (Retry-After, as
    every other 429 says it; security audit)."""
    try:
        outcome = await console.work.guarded(work)
    except throttle.TooManyGuesses as exc:
        outcome = Page(
            "console/sign_in.html", {"problem": "rate_limited"}, 429, dict(exc.headers or {})
        )
    except ServiceError as exc:
        outcome = error_page(exc)
    return console.render(outcome)


@router.get("/sign-in/oidc")
async def sign_in_with_provider(console: ConsoleDep) -> Response:
    """Off to the province's identity provider, remembering what its answer must match."""
    settings = console.settings
    if not settings.oidc_enabled:
        return console.render(_problem_page(console, "oidc_off", 404))
    try:
        url, pending = await oidc.begin(settings)
    except oidc.SignInFailed as exc:
        console.log_problem(exc)
        return console.render(_problem_page(console, "oidc_unreachable", 503))
    if (previous := console.session) is not None:
        # Signing in ends the browser's session first, as a key sign-in does (_signed_in):
        # the provider's answer comes back cross-site, without this SameSite=Strict cookie,
        # so a copy of the first person's cookie lived on for its hours (console audit).
        await console.work.run(lambda db: sessions.end(db, previous))
    response = RedirectResponse(url, status_code=303)
    value = pending.encode()
    response.set_cookie(
        PENDING_COOKIE,
        f"{value}.{sessions.sign(console.signing_key, PENDING_PURPOSE, value)}",
        max_age=oidc.PENDING_SECONDS,
        path=PENDING_PATH,
        httponly=True,
        # Lax, not Strict: the provider's answer is a top-level navigation from its site.
        samesite="lax",
        secure=console.secure,
    )
    return response


def _pending(console: ConsoleDep, request: Request) -> oidc.PendingSignIn | None:
    value, _, signature = (request.cookies.get(PENDING_COOKIE) or "").rpartition(".")
    expected = sessions.sign(console.signing_key, PENDING_PURPOSE, value)
    if not value or not same_secret(signature, expected):
        return None
    return oidc.PendingSignIn.decode(value)


async def _spend(console: ConsoleDep, pending: oidc.PendingSignIn) -> bool:
    """Whether this is the pending sign-in's first answer, now spent on the server (before
    the code is exchanged: a second answer gets no tokens). Asking the browser to delete
    the cookie was all there was: a copy of it, with another code for the same request,
    signed in again (audit)."""
    return await console.work.run(
        lambda session: sessions.spend_pending_sign_in(session, pending.state, pending.expires)
    )


async def _claims(
    console: ConsoleDep, pending: oidc.PendingSignIn, params: dict[str, str]
) -> dict[str, Any]:
    """The claims of the provider's answer `params` to `pending`, or SignInFailed. The
    state is compared before the sign-in is spent: a crafted link with another state,
    opened while the official was at the provider, spent it, and their genuine answer then
    read "start again" (review)."""
    oidc.check_state(pending, params)
    if not await _spend(console, pending):
        raise oidc.SignInFailed("spent", "a copy of a cookie whose sign-in came back already")
    return await oidc.finish(console.settings, pending, params)


# What the page says for a failed sign-in; anything else is "could not reach the account
# system". A state not this browser's is a second tab's or an old sign-in's answer: start
# again (it said "try later", which nothing would cure).
_PROBLEMS = {
    "provider_refused": "oidc_refused",
    "state_mismatch": "oidc_expired",
    "spent": "oidc_expired",
    "provider_unreachable": "oidc_unreachable",
    "provider_misconfigured": "oidc_unreachable",
}
# Refusals after the provider answered that someone may be trying a stolen or forged
# answer (a copy of a spent sign-in, a code or token that does not hold): in the audit log
# as `console.sign_in_refused`, not only the process log (operations audit). Not an
# outage (provider_unreachable, provider_misconfigured) nor the official's own cancelling.
AUDITED_REFUSALS = frozenset(
    {"spent", "state_mismatch", "no_code", "token_refused", "no_id_token", "id_token_invalid"}
)


@router.get("/sign-in/oidc/callback", response_class=HTMLResponse)
async def provider_answered(console: ConsoleDep, request: Request) -> Response:
    """The provider sends the official back here with a code (or an error)."""
    pending = _pending(console, request)
    params = {name: value for name, value in request.query_params.items()}
    claims = None
    problem = None
    refused: str | None = None  # a reason for the audit log (AUDITED_REFUSALS)
    # An answer not for this browser's sign-in leaves its cookie for the genuine one.
    still_pending = False
    if pending is None:
        problem = "oidc_expired"  # no sign-in under way in this browser, or too old
    elif not console.settings.oidc_enabled:
        problem = "oidc_off"
    else:
        try:
            claims = await _claims(console, pending, params)
        except oidc.SignInFailed as exc:
            console.log_problem(exc)
            problem = _PROBLEMS.get(exc.reason, "oidc_failed")
            still_pending = exc.reason == "state_mismatch"
            refused = exc.reason if exc.reason in AUDITED_REFUSALS else None

    def admit(session: Session, guess: throttle.Guess) -> Outcome:
        if claims is None:
            assert problem is not None
            if refused is not None:  # no code, token or cookie in the record
                # A wrong guess, as a wrong key is: forged answers, each a record, filled
                # the audit log without limit from one address (security audit).
                guess.look(session, lambda: None)
                record(
                    session, "oidc:unknown", "console.sign_in_refused", None, {"reason": refused}
                )
            # The provider down is the service's trouble, not the request's (a 503).
            return _problem_page(console, problem, 503 if problem == "oidc_unreachable" else 400)
        try:
            official = official_for_claims(
                session, claims, console.settings.oidc_require_email_verified
            )
        except NotAnOfficial as exc:
            # A wrong guess too: anyone with an account at the province's provider could
            # sign in again and again, a refusal recorded each time (review).
            guess.look(session, lambda: None)
            who = storable_text(exc.email or f"sub:{claims.get('sub')}")  # the provider's words
            record(session, f"oidc:{who}", "console.sign_in_refused", None, {"reason": exc.reason})
            return _problem_page(console, "not_official", 403, exc.reason, exc.email)
        assert official.id is not None
        principal = official_principal(session, official.id)
        assert principal is not None
        onward = _signed_in(console, session, principal, "oidc")
        assert isinstance(onward, Redirect)
        # A page, not a redirect: after the provider's cross-site redirect a browser would
        # not send the new SameSite=Strict cookie with a redirected request.
        # Its language link leads on, not back to the spent code (_problem_page).
        where = onward.location
        return Page("console/signed_in.html", {"here": where, "onward": where}, 200)

    response = await _guarded(console, admit)
    if not still_pending:
        response.delete_cookie(
            PENDING_COOKIE, path=PENDING_PATH, httponly=True, samesite="lax", secure=console.secure
        )
    return response


@router.post("/sign-out", response_class=HTMLResponse)
async def sign_out(console: ConsoleDep, form: FormDep) -> Response:
    def leave(session: Session) -> Outcome:
        if console.session is None:
            # No session to end: it expired (a page left open past its 8 hours) or was
            # ended in another tab. The form's token, which rests on it, was refused as out
            # of date, an error page for a sign-out that had nothing left to do (audit).
            console.clear_session = True  # an expired or forged cookie, if one was sent
            return Redirect(SIGN_IN)
        console.check_csrf(form)
        console.clear_session = True
        try:
            who = console.who(session, sessions.CONSOLE_ROLES)
        except SignedOut:
            # Refused (a key's while key sign-in is off): ended all the same, or it came
            # back to life when key sign-in was turned on again (console audit).
            sessions.end(session, console.session)
            return Redirect(SIGN_IN)
        sessions.end(session, console.session)
        record(session, who.actor, "console.sign_out", None, {})
        return Redirect(SIGN_IN)

    return await console.respond(leave)
