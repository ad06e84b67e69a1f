"""Signing in to the console: a manager key for a signed, expiring, httpOnly, SameSite=Strict
cookie; CSRF on every form; revoked keys and other roles are turned away; all audited."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.app import create_app
from service.auth.officials import (
    OfficialChange,
    add_official,
    disable_official,
    official_principal,
    update_official,
)
from service.console import csrf, sessions
from service.models import ApiKey, AuditLog, ConsoleSessionRecord, SpentOidcSignIn, utcnow
from service.retention.purge import purge
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, app_for, make_settings
from tests.console.conftest import (
    WARD,
    WARD_NAME,
    ConsoleClient,
    Office,
    autofocused_alert,
    discovery_only,
    raw_key,
)
from tests.harness.processes import http_server

pytestmark = pytest.mark.usefixtures("agencies")
KEY = b"k" * 32


def audit(db: DbFactory, action: str) -> list[AuditLog]:
    with db() as session:
        return list(
            session.exec(
                select(AuditLog).where(AuditLog.action == action).order_by(col(AuditLog.id))
            ).all()
        )


# --- the cookie itself -----------------------------------------------------------------------


def test_cookie_round_trips_and_refuses_tampering_expiry_and_other_keys() -> None:
    now = 1_800_000_000
    session = sessions.new_session(signed_in=True, now=now)
    value = sessions.encode(session, KEY)
    assert sessions.decode(value, KEY, now=now) == session
    assert session.expires == now + sessions.SESSION_SECONDS
    # Only the expiry and a random session id travel; who signed in is on the server.
    expires, sid, _ = value.split(".")
    assert (int(expires), sid) == (session.expires, session.sid)
    longer = f"{session.expires + 86400}.{sid}.{value.rsplit('.', 1)[1]}"
    assert sessions.decode(longer, KEY, now=now) is None
    assert sessions.decode(value, b"another signing key", now=now) is None
    assert sessions.decode(value, KEY, now=session.expires) is None  # expired
    for garbage in ("", "abc", "1.2.3", "x" * 500, "a.b.c.d"):
        assert sessions.decode(garbage, KEY, now=now) is None
    anonymous = sessions.new_session(signed_in=False, now=now)
    assert sessions.decode(sessions.encode(anonymous, KEY), KEY, now=now) == anonymous
    assert anonymous.expires == now + sessions.ANONYMOUS_SECONDS


def test_csrf_token_is_bound_to_its_session() -> None:
    one, two = sessions.new_session(signed_in=True), sessions.new_session(signed_in=True)
    token = csrf.token_for(KEY, one.sid)
    csrf.check(KEY, one.sid, token)
    for sid, sent in ((two.sid, token), (one.sid, ""), (one.sid, None), (None, token)):
        with pytest.raises(csrf.CsrfRejected):
            csrf.check(KEY, sid, sent)


# --- signing in over HTTP --------------------------------------------------------------------


def test_manager_signs_in_gets_a_strict_httponly_cookie_and_lands_on_its_agency(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    first = console.get("/console")
    assert first.url.path == "/console/sign-in"  # signed out: sent to the form
    assert first.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in first.headers["content-security-policy"]
    pre = first.headers["set-cookie"]  # the form's own session, for its CSRF token
    assert "HttpOnly" in pre and "SameSite=strict" in pre and "Path=/console" in pre

    response = console.post("/console/sign-in", {"key": raw_key(make_key("manager", WARD))})
    assert response.status_code == 200
    assert response.url.path == f"/console/a/{WARD}"
    assert WARD_NAME in response.text
    cookie = response.history[0].headers["set-cookie"]
    assert cookie.startswith(f"{sessions.COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/console"):
        assert attribute in cookie, cookie
    # Eight hours, counted from the session's expiry: a second may pass before the cookie
    # is written (28799 in a loaded clean-clone CI run).
    max_age = re.search(r"Max-Age=(\d+)", cookie)
    assert max_age is not None and 28800 - 5 <= int(max_age.group(1)) <= 28800, cookie
    assert "Secure" not in cookie  # plain http in tests; https sets it (next test)
    assert "hl_" not in cookie.split(";")[0].split("=", 1)[1]  # no key in the cookie
    # A fresh session id at sign-in: the pre-session's CSRF token is no longer valid.
    assert console.client.cookies.get(sessions.COOKIE) != pre.split(";")[0].split("=", 1)[1]
    [signed_in] = audit(db, "console.sign_in")
    assert signed_in.actor.endswith(":test manager")


def test_a_page_asked_for_while_signed_out_is_where_the_sign_in_leads(
    console: ConsoleClient, make_key: KeyFactory
) -> None:
    """(alerts audit) An alert e-mail links to the agency's alerts; opened from a webmail,
    the Strict session cookie is not sent, the official signs in, and landed on the front
    page, the alert to be found again. The page asked for is remembered a quarter of an
    hour (a Lax cookie: it survives the identity provider's return) and led to once."""
    wanted = f"/console/alerts?agency={WARD}"
    first = console.get(wanted)
    assert first.url.path == "/console/sign-in"
    remembered = [
        c for c in first.history[0].headers.get_list("set-cookie") if "hl_console_next" in c
    ]
    assert len(remembered) == 1, first.history[0].headers
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/console", "Max-Age=900"):
        assert attribute in remembered[0], remembered[0]
    key = raw_key(make_key("manager", WARD))
    signed_in = console.post("/console/sign-in", {"key": key})
    assert signed_in.status_code == 200
    assert signed_in.url.path + "?" + signed_in.url.query.decode() == wanted
    assert console.client.cookies.get(sessions.NEXT_COOKIE) is None  # led to once
    console.sign_out()
    again = console.sign_in(key)
    assert again.url.path == f"/console/a/{WARD}"  # the front page's way, as before


@pytest.mark.parametrize(
    "forged",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/console/\\evil.example",
        "/elsewhere",
        "/console//evil.example",
        "/console/a\r\nSet-Cookie: x",
        "",
    ],
)
def test_a_remembered_page_is_only_ever_a_console_page_of_this_site(forged: str) -> None:
    assert sessions.safe_next(forged) is None
    assert (
        sessions.safe_next("/console/a/79.BTH?period=2025-Q3") == "/console/a/79.BTH?period=2025-Q3"
    )


def test_cookie_is_secure_when_the_service_is_served_over_https(
    database_url: str, make_key: KeyFactory
) -> None:
    settings = make_settings(database_url, base_url="https://hailong.example.vn")
    with TestClient(create_app(settings)) as client:
        response = client.get("/console/sign-in")
        assert "Secure" in response.headers["set-cookie"]


def test_wrong_key_other_roles_and_missing_csrf_are_refused(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    assert "autofocus" not in console.get("/console/sign-in").text
    wrong = console.sign_in("hl_not-a-real-key")
    assert wrong.status_code == 401
    assert "Khóa không đúng hoặc đã bị thu hồi" in wrong.text
    # The page opens on why, not at its top (pages audit).
    assert autofocused_alert(wrong.text) == "sign-in-problem"
    assert "Đăng nhập" in wrong.text  # the form again, with a working CSRF token
    for role in ("reader", "issuer", "kiosk"):
        refused = console.sign_in(raw_key(make_key(role)))
        assert refused.status_code == 403, role
        assert "Chỉ khóa của cán bộ quản lý hoặc quản trị" in refused.text
    assert [a.detail["role"] for a in audit(db, "console.sign_in_refused")] == [
        "reader",
        "issuer",
        "kiosk",
    ]
    manager = raw_key(make_key("manager", WARD))
    console.get("/console/sign-in")
    forged = console.post("/console/sign-in", {"key": manager}, csrf="forged")
    assert forged.status_code == 403 and "Biểu mẫu không hợp lệ" in forged.text
    console.client.cookies.clear()  # a cross-site POST carries no cookie (SameSite=Strict)
    no_cookie = console.client.post("/console/sign-in", data={"key": manager, "csrf": "x"})
    assert no_cookie.status_code == 403
    # As a form sent after the session's hours looks (the browser dropped its cookie): the
    # page says so too, and where to sign in again (console audit).
    assert "phiên đăng nhập đã kết thúc" in no_cookie.text
    assert 'href="/console/sign-in"' in no_cookie.text
    assert sessions.COOKIE not in no_cookie.headers.get("set-cookie", "")
    assert audit(db, "console.sign_in") == []
    assert console.get("/console").url.path == "/console/sign-in"


def test_revoked_key_is_signed_out_on_its_next_request(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    console.sign_in(raw_key(make_key("manager", WARD)))
    assert console.get(f"/console/a/{WARD}").status_code == 200
    with db() as session:
        key = session.exec(select(ApiKey).where(ApiKey.role == "manager")).one()
        key.revoked_at = utcnow()
        session.add(key)
    response = console.client.get(f"/console/a/{WARD}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in"
    assert f'{sessions.COOKIE}=""' in response.headers["set-cookie"]  # cleared
    assert WARD_NAME not in response.text


@pytest.mark.parametrize("lapse", ["expired", "revoked"])
def test_signing_in_with_a_lapsed_key_says_it_lapsed_and_what_to_do(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory, lapse: str
) -> None:
    """(console audit) An expired key was told "wrong or revoked, please check it", which
    checking cures not; the API says of it "expired on ...: ask for a new one"."""
    raw = raw_key(make_key("manager", WARD))
    with db() as session:
        key = session.exec(select(ApiKey).where(ApiKey.role == "manager")).one()
        if lapse == "expired":
            key.expires_at = utcnow() - timedelta(minutes=5)
        else:
            key.revoked_at = utcnow()
        session.add(key)
    console.client.cookies.set("hl_console_lang", "en", path="/console")
    refused = console.sign_in(raw)
    assert refused.status_code == 401
    assert autofocused_alert(refused.text) == "sign-in-problem"
    problem = re.search(r'id="sign-in-problem"[^>]*>(.*?)</div>', refused.text, re.S)
    assert problem is not None
    said = " ".join(problem.group(1).split())
    assert f"This key {'expired' if lapse == 'expired' else 'was revoked'} at " in said, said
    assert "ask your administrator for a new one" in said


def test_expired_session_sends_the_manager_back_to_sign_in(
    console: ConsoleClient, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    console.sign_in(raw_key(make_key("manager", WARD)))
    later = time.time() + sessions.SESSION_SECONDS + 1
    monkeypatch.setattr(sessions, "clock", lambda: later)
    assert console.get(f"/console/a/{WARD}").url.path == "/console/sign-in"


def test_a_sign_in_form_opened_a_minute_ago_is_not_out_of_date(
    console: ConsoleClient, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sign-in form's CSRF token rests on a pre-session of one hour. Opening the page
    again kept the pre-session with its first expiry: a form opened a minute ago was
    refused as out of date when the first visit was almost an hour before. Each showing of
    the form starts its hour again, with the same id: the form in the first tab still
    works (audit)."""
    key = raw_key(make_key("manager", WARD))
    start = sessions.clock()
    monkeypatch.setattr(sessions, "clock", lambda: start)
    console.get("/console/sign-in")  # the first visit, then the tab is left open
    first_tab = console.csrf()
    later = start + sessions.ANONYMOUS_SECONDS - 60
    monkeypatch.setattr(sessions, "clock", lambda: later)
    console.get("/console/sign-in")  # opened again: a fresh form
    assert console.csrf() == first_tab  # the same pre-session
    monkeypatch.setattr(sessions, "clock", lambda: later + 120)  # two minutes to paste the key
    response = console.post("/console/sign-in", {"key": key})
    assert response.status_code == 200 and response.url.path == f"/console/a/{WARD}", (
        response.status_code,
        str(response.url),
    )


def test_a_sign_in_form_shown_again_for_a_wrong_key_starts_its_hour_again(
    console: ConsoleClient, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As opening it again: the form shown again after a wrong key is a fresh form (audit)."""
    key = raw_key(make_key("manager", WARD))
    start = sessions.clock()
    monkeypatch.setattr(sessions, "clock", lambda: start)
    console.get("/console/sign-in")
    later = start + sessions.ANONYMOUS_SECONDS - 60
    monkeypatch.setattr(sessions, "clock", lambda: later)
    assert console.post("/console/sign-in", {"key": "hl_wrong"}).status_code == 401
    monkeypatch.setattr(sessions, "clock", lambda: later + 120)
    response = console.post("/console/sign-in", {"key": key})
    assert response.status_code == 200 and response.url.path == f"/console/a/{WARD}"


def test_signing_out_after_the_session_expired_goes_to_the_sign_in_page(
    console: ConsoleClient, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page left open past the session's 8 hours: its "sign out" button found no session
    for the form's token and showed the "form out of date" error page; there is nothing to
    end, so it goes to the sign-in page (audit)."""
    console.sign_in(raw_key(make_key("manager", WARD)))
    assert console.get(f"/console/a/{WARD}").status_code == 200
    later = time.time() + sessions.SESSION_SECONDS + 1
    monkeypatch.setattr(sessions, "clock", lambda: later)
    response = console.sign_out()
    assert response.status_code == 200 and response.url.path == "/console/sign-in"


def test_sign_out_needs_csrf_clears_the_cookie_and_is_audited(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    console.sign_in(raw_key(make_key("manager", WARD)))
    refused = console.post("/console/sign-out", {}, csrf="not-the-token")
    assert refused.status_code == 403
    assert console.get(f"/console/a/{WARD}").status_code == 200  # still signed in
    response = console.sign_out()
    assert response.url.path == "/console/sign-in"
    cleared = response.history[0].headers["set-cookie"]
    assert f'{sessions.COOKIE}=""' in cleared and "Max-Age=0" in cleared
    assert console.get(f"/console/a/{WARD}").url.path == "/console/sign-in"
    assert len(audit(db, "console.sign_out")) == 1


def test_a_cookie_copied_before_sign_out_stops_working_at_once(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    console.sign_in(raw_key(make_key("manager", WARD)))
    copied = console.client.cookies.get(sessions.COOKIE)
    assert copied
    console.sign_out()
    console.client.cookies.set(sessions.COOKIE, copied, path="/console")  # replayed
    response = console.client.get(f"/console/a/{WARD}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in"
    assert WARD_NAME not in response.text
    with db() as session:
        [row] = session.exec(select(ConsoleSessionRecord)).all()
        assert row.ended_at is not None and row.key_id is not None


def without_key_sign_in(database_url: str) -> Settings:
    """Key sign-in off (which needs an identity provider: one that is never reached)."""
    return make_settings(
        database_url,
        console_key_sign_in=False,
        oidc_issuer="http://127.0.0.1:9/unused",
        oidc_client_id="hailong",
    )


def test_key_sign_in_can_be_switched_off(database_url: str, make_key: KeyFactory) -> None:
    settings = without_key_sign_in(database_url)
    with TestClient(create_app(settings)) as client:
        form = client.get("/console/sign-in")
        assert 'name="key"' not in form.text and 'id="sign-in-oidc"' in form.text
        token = csrf.token_for(
            settings.signing_key(),
            sessions.decode(client.cookies.get(sessions.COOKIE), settings.signing_key()).sid,  # type: ignore[union-attr]
        )
        key = raw_key(make_key("admin"))
        refused = client.post("/console/sign-in", data={"key": key, "csrf": token})
        assert refused.status_code == 403
        assert "tắt đăng nhập bằng khóa" in refused.text


def test_a_key_session_ends_when_key_sign_in_is_switched_off(
    console: ConsoleClient, make_key: KeyFactory, database_url: str
) -> None:
    """A manager who had pasted a key kept the console for the session's 8 hours after the
    province switched key sign-in off and restarted (audit)."""
    console.sign_in(raw_key(make_key("manager", WARD)))
    cookie = console.client.cookies.get(sessions.COOKIE)
    assert cookie and console.get(f"/console/a/{WARD}").status_code == 200
    with TestClient(create_app(without_key_sign_in(database_url))) as restarted:
        restarted.cookies.set(sessions.COOKIE, cookie, path="/console")
        response = restarted.get(f"/console/a/{WARD}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in"


def test_admin_sees_every_agency_on_its_home_page(
    console: ConsoleClient, make_key: KeyFactory
) -> None:
    home = console.sign_in(raw_key(make_key("admin")))
    assert home.url.path == "/console"
    for name in ("Thành phố Hồ Chí Minh", WARD_NAME, "Phường Sài Gòn", "Sở Tư pháp"):
        assert name in home.text
    assert console.get("/console/a/79.SGN").status_code == 200


def test_english_switch_is_remembered_and_only_redirects_inside_the_console(
    console: ConsoleClient, make_key: KeyFactory
) -> None:
    console.sign_in(raw_key(make_key("manager", WARD)))
    page = console.get(f"/console/lang/en?next=/console/a/{WARD}/staff")
    assert page.url.path == f"/console/a/{WARD}/staff"
    assert '<html lang="en">' in page.text and "Scores by staff member" in page.text
    assert "Staff scores" in console.get(f"/console/a/{WARD}/staff").text
    away = console.client.get("/console/lang/vi?next=https://evil.example/", follow_redirects=False)
    assert away.headers["location"] == "/console"
    away = console.client.get("/console/lang/vi?next=//evil.example/", follow_redirects=False)
    assert away.headers["location"] == "/console"


@pytest.mark.parametrize(
    ("page", "action", "form", "status", "back_to"),
    [
        # A refused D/E form (a typo), then "English".
        (f"/console/a/{WARD}", f"/console/a/{WARD}/inputs", {"d": "abc"}, 422, f"/a/{WARD}"),
        # A pairing code just made, then "English".
        (
            f"/console/a/{WARD}/kiosks",
            f"/console/a/{WARD}/kiosks/pairings",
            {"counter_code": "Q01"},
            201,
            f"/a/{WARD}/kiosks",
        ),
        # A refused alert threshold: the alerts page of that agency, not …/rules (review).
        (
            f"/console/alerts?agency={WARD}",
            f"/console/alerts/{WARD}/rules/k_below_threshold",
            {"threshold": "abc", "enabled": "on"},
            422,
            f"/alerts?agency={WARD}",
        ),
        # Error pages of forms with no page above their address (review): a rule the
        # service does not know, a kiosk unpaired already (another tab).
        (
            f"/console/alerts?agency={WARD}",
            f"/console/alerts/{WARD}/rules/no_such_rule",
            {"threshold": "", "enabled": "on"},
            422,
            f"/alerts?agency={WARD}",
        ),
        (
            f"/console/a/{WARD}/kiosks",
            f"/console/a/{WARD}/kiosks/987654/unpair",
            {},
            404,
            f"/a/{WARD}/kiosks",
        ),
    ],
)
def test_the_language_switch_on_a_page_a_form_was_posted_to_reaches_a_page(
    console: ConsoleClient,
    make_key: KeyFactory,
    page: str,
    action: str,
    form: dict[str, str],
    status: int,
    back_to: str,
) -> None:
    """The switch went back to the POST's address: a 405, and its error page in Vietnamese
    though English was chosen (pages audit). It goes to the nearest page above it now, and
    an error page met in the console speaks the console's language."""
    console.sign_in(raw_key(make_key("admin")))
    console.get(page)
    posted = console.post(action, form)
    assert posted.status_code == status
    link = re.search(r'href="(/console/lang/en\?next=[^"]*)"', posted.text)
    assert link is not None
    switched = console.get(link.group(1).replace("&amp;", "&"))
    assert switched.status_code == 200
    assert switched.url.raw_path.decode() == f"/console{back_to}"
    assert '<html lang="en">' in switched.text
    refused = console.get(action)  # the POST's address, asked for with GET
    assert refused.status_code == 405 and '<html lang="en">' in refused.text


def test_purge_removes_ended_sessions_and_keeps_open_ones(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    console.sign_in(raw_key(make_key("manager", WARD)))
    console.sign_out()
    console.sign_in(raw_key(make_key("manager", WARD)))  # still open
    with db() as session:
        assert purge(session, 730, actor="cli").console_sessions == 1
    with db() as session:
        [left] = session.exec(select(ConsoleSessionRecord)).all()
        assert left.ended_at is None
    assert console.get(f"/console/a/{WARD}").status_code == 200


def test_spent_oidc_sign_ins_are_kept_only_while_their_cookie_would_be_taken(
    db: DbFactory,
) -> None:
    """A spent sign-in is remembered as the SHA-256 of its state (never the state) until its
    pending cookie's expiry, and the next callback drops those past it: the table holds the
    last minutes' sign-ins, not every sign-in ever made."""
    now = int(time.time())
    with db() as session:
        assert sessions.spend_pending_sign_in(session, "state-long-ago", now - 1)
        assert sessions.spend_pending_sign_in(session, "state-under-way", now + 600)
        assert not sessions.spend_pending_sign_in(session, "state-under-way", now + 600)
    with db() as session:
        [kept] = session.exec(select(SpentOidcSignIn)).all()
    assert kept.id == hashlib.sha256(b"state-under-way").hexdigest()


# --- sessions refused stay ended --------------------------------------------------------------


def with_provider(database_url: str) -> Settings:
    """Officials sign in through an identity provider (one that is never reached)."""
    return make_settings(
        database_url, oidc_issuer="http://127.0.0.1:9/unused", oidc_client_id="hailong"
    )


def _signed_in_official(app: FastAPI, db: DbFactory, client: TestClient) -> int:
    """An official signed in as the OIDC callback leaves one: a session row and its cookie
    (`app` serving with_provider's settings)."""
    with db() as session:
        official = add_official(session, "test", "lan@x.vn", "Lan", "manager", WARD)
        assert official.id is not None
        principal = official_principal(session, official.id)
        assert principal is not None
        console_session = sessions.new_session(signed_in=True)
        sessions.start(session, console_session, principal)
        official_id = official.id
    cookie = sessions.encode(console_session, app.state.settings.signing_key())
    client.cookies.set(sessions.COOKIE, cookie, path="/console")
    return official_id


@pytest.mark.parametrize("way", ["disable", "update"])
def test_a_disabled_officials_session_stays_ended_when_they_are_enabled_again(
    database_url: str, db: DbFactory, way: str
) -> None:
    """Disabling an official (a stolen laptop) refused their sessions but did not end them:
    enabled again, the copied cookie worked again (audit). The API's PATCH {"enabled":
    false} is an update, which did not end them either (second audit)."""
    app = app_for(with_provider(database_url))
    with TestClient(app) as client:
        _a_disabled_officials_session_stays_ended(app, client, db, way)


def test_an_officials_session_ends_when_provider_sign_in_is_switched_off(
    database_url: str, db: DbFactory
) -> None:
    """(operations audit) The operator removes HAILONG_OIDC_ISSUER (the provider is
    compromised, officials are to be cut off) and restarts: a key's session was refused
    once key sign-in was off, but an official's lived on for the rest of its 8 hours."""
    app = app_for(with_provider(database_url))
    with TestClient(app) as client:
        _signed_in_official(app, db, client)
        assert client.get(f"/console/a/{WARD}", follow_redirects=False).status_code == 200
        cookie = client.cookies.get(sessions.COOKIE)
    with TestClient(create_app(make_settings(database_url))) as restarted:
        restarted.cookies.set(sessions.COOKIE, cookie, path="/console")
        page = restarted.get(f"/console/a/{WARD}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/console/sign-in"
    with db() as session:
        assert [row.ended_at is not None for row in session.exec(select(ConsoleSessionRecord))] == [
            True
        ]


def _a_disabled_officials_session_stays_ended(
    app: FastAPI, client: TestClient, db: DbFactory, way: str
) -> None:
    official_id = _signed_in_official(app, db, client)
    copied = client.cookies.get(sessions.COOKIE)
    assert client.get(f"/console/a/{WARD}", follow_redirects=False).status_code == 200
    with db() as session:
        if way == "disable":
            disable_official(session, "test", official_id)
        else:
            update_official(session, "test", official_id, OfficialChange(enabled=False))
    # No request while disabled: a refused session is ended on the way out (which would
    # hide a disabling that ends nothing); the thief waits for the official's return.
    with db() as session:
        update_official(session, "test", official_id, OfficialChange(enabled=True))
    client.cookies.set(sessions.COOKIE, copied, path="/console")
    again = client.get(f"/console/a/{WARD}", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].endswith("/console/sign-in")
    with db() as session:
        rows = session.exec(select(ConsoleSessionRecord)).all()
    assert [row.ended_at is not None for row in rows] == [True]


@pytest.mark.parametrize("first_request", ["a page", "the sign-in page", "sign-out"])
def test_a_key_session_refused_while_key_sign_in_was_off_stays_ended(
    client: TestClient, make_key: KeyFactory, database_url: str, first_request: str
) -> None:
    """A process with key sign-in off refuses a key's session; a rollback to key sign-in
    on brought it back for the rest of its 8 hours (audit), also when the first request
    it met was the sign-in page or the sign-out button (console audit)."""
    console = ConsoleClient(client)
    console.sign_in(raw_key(make_key("manager", WARD)))
    cookie = client.cookies.get(sessions.COOKIE)
    assert cookie is not None
    token = console.csrf()
    with TestClient(create_app(without_key_sign_in(database_url))) as restarted:
        restarted.cookies.set(sessions.COOKIE, cookie, path="/console")
        if first_request == "a page":
            met = restarted.get(f"/console/a/{WARD}", follow_redirects=False)
            assert met.status_code == 303
        elif first_request == "the sign-in page":
            assert restarted.get("/console/sign-in").status_code == 200
        else:
            left = restarted.post("/console/sign-out", data={"csrf": token}, follow_redirects=False)
            assert left.status_code == 303
    fresh = TestClient(client.app)
    fresh.cookies.set(sessions.COOKIE, cookie, path="/console")
    assert fresh.get(f"/console/a/{WARD}", follow_redirects=False).status_code == 303


def test_signing_in_again_ends_the_browsers_previous_session(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """On a shared counter PC the next person signs in over the first: the first session
    ends on the server (a copy of its cookie lived on for its 8 hours)."""
    console = ConsoleClient(client)
    console.sign_in(raw_key(make_key("manager", WARD)))
    first = client.cookies.get(sessions.COOKIE)
    console.get(f"/console/a/{WARD}")
    console.post("/console/sign-in", {"key": raw_key(make_key("admin"))})
    assert client.cookies.get(sessions.COOKIE) not in (None, first)
    with db() as session:
        rows = session.exec(select(ConsoleSessionRecord)).all()
    assert sum(row.ended_at is None for row in rows) == 1 and len(rows) == 2
    stale = TestClient(client.app)
    stale.cookies.set(sessions.COOKIE, first or "", path="/console")
    assert stale.get(f"/console/a/{WARD}", follow_redirects=False).status_code == 303


def test_cookies_are_secure_when_the_base_url_is_https_in_capitals(database_url: str) -> None:
    """(audit) HAILONG_BASE_URL=HTTPS://… was accepted and kept as written; the console
    decides Secure on "https://", so its cookies went without it."""
    with http_server(
        discovery_only(authorization_endpoint="/auth", token_endpoint="/token", jwks_uri="/jwks")
    ) as issuer:
        settings = make_settings(
            database_url,
            base_url="HTTPS://hailong.tphcm.gov.vn",
            oidc_issuer=issuer,
            oidc_client_id="hailong-console",
        )
        with TestClient(create_app(settings), base_url="https://testserver") as client:
            form = client.get("/console/sign-in")
            pending = client.get("/console/sign-in/oidc", follow_redirects=False)
    session_cookie = form.headers["set-cookie"]
    assert "hl_console=" in session_cookie
    assert "secure" in session_cookie.lower(), session_cookie
    pending_cookie = pending.headers["set-cookie"]
    assert "hl_oidc=" in pending_cookie
    assert "secure" in pending_cookie.lower(), pending_cookie


def test_a_manager_refused_the_audit_log_is_not_sent_back_to_it(
    console: ConsoleClient, office: Office, make_key: KeyFactory
) -> None:
    """(console audit) The refusal said "an auditor reads the audit log at the Log page",
    with a link to /console/audit: to a manager, the page that had just refused them."""
    console.sign_in(raw_key(make_key("manager", WARD)))
    refused = console.get("/console/audit")
    assert refused.status_code == 403
    assert 'href="/console/audit"' not in refused.text
    assert "chỉ dành cho quản trị viên và kiểm toán viên" in refused.text
    assert 'href="/console"' in refused.text


def test_a_console_sign_in_refused_for_too_many_wrong_keys_says_when_to_try_again(
    client: TestClient, settings: Settings
) -> None:
    """Past HAILONG_GUESS_LIMIT wrong keys the sign-in page answered 429 without
    Retry-After, which every other 429 of the service carries (security audit)."""
    console = ConsoleClient(client)
    console.get("/console/sign-in")
    statuses = [
        console.post("/console/sign-in", {"key": f"hl_wrong-{i}"}).status_code
        for i in range(settings.guess_limit + 1)
    ]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401}, statuses
    assert console.last is not None
    retry_after = console.last.headers.get("retry-after", "")
    assert retry_after.isdigit() and 0 < int(retry_after) <= settings.guess_window_seconds
