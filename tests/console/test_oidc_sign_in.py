"""Officials sign in to the console through a real OpenID Connect provider (the certified
`oidc-provider` npm package on 127.0.0.1, tests/harness/oidc): authorization code with
PKCE, the ID token checked against the provider's keys, the official found by verified
e-mail and bound to the provider's subject, the session kept on the server so that signing
out (or disabling the official) ends it at once, and every refusal audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.app import create_app
from service.auth.officials import add_official, disable_official
from service.console import sessions
from service.models import AuditLog, ConsoleSessionRecord, Official
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, free_port, make_settings
from tests.console.conftest import CSRF_INPUT, OTHER_WARD, WARD, WARD_NAME, discovery_only
from tests.harness.oidc_provider import OidcProvider, sign_in
from tests.harness.processes import http_server

pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("agencies")]

CLIENT_ID, CLIENT_SECRET = "hailong-console", "s3cret-of-the-test-client"
CALLBACK = "http://testserver/console/sign-in/oidc/callback"
LAN = "lan@phuongbenthanh.tphcm.gov.vn"
WIDE = "a" * 250 + "@x.vn"
ACCOUNTS: dict[str, dict[str, object]] = {
    "lan": {"sub": "u-lan", "email": LAN, "email_verified": True, "name": "Nguyễn Thị Lan"},
    # Another person at the provider who comes to hold Lan's address (a reused mailbox).
    "impostor": {"sub": "u-other", "email": LAN.upper(), "email_verified": True},
    "stranger": {"sub": "u-stranger", "email": "khach@example.vn", "email_verified": True},
    "unverified": {"sub": "u-unverified", "email": LAN, "email_verified": False},
    "auditor": {"sub": "u-audit", "email": "kiemtra@sotttt.tphcm.gov.vn", "email_verified": True},
    # At the columns' widths: an address of 255 (an official's), one past it, a subject past
    # OpenID Connect's 255 characters.
    "wide": {"sub": "u-wide", "email": WIDE, "email_verified": True},
    "too_wide": {"sub": "u-too-wide", "email": "b" * 300 + "@x.vn", "email_verified": True},
    "long_sub": {"sub": "s" * 300, "email": "dai@x.vn", "email_verified": True},
    # A provider asked without the "email" scope, or an account with no mailbox.
    "no_email": {"sub": "u-no-email", "name": "Không có thư"},
}
NOT_GRANTED = "chưa được cấp quyền vào bảng điều hành"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    logs = tmp_path_factory.mktemp("oidc")
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, CALLBACK, ACCOUNTS, log_dir=logs) as running:
        yield running


def oidc_settings(database_url: str, provider: OidcProvider, **overrides: Any) -> Settings:
    chosen: dict[str, Any] = {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_provider_name": "Tài khoản TP.HCM",
    }
    return make_settings(database_url, **(chosen | overrides))


@pytest.fixture
def console(database_url: str, provider: OidcProvider) -> Iterator[TestClient]:
    with TestClient(create_app(oidc_settings(database_url, provider))) as client:
        yield client


@pytest.fixture
def lan(db: DbFactory) -> int:
    with db() as session:
        official = add_official(session, "cli", LAN, "Nguyễn Thị Lan", "manager", WARD)
        assert official.id is not None
        return official.id


def through_provider(console: TestClient, login: str) -> httpx.Response:
    """The browser's trip: hailong → the provider's login form → hailong's callback."""
    start = console.get("/console/sign-in/oidc", follow_redirects=False)
    assert start.status_code == 303, start.text
    with httpx.Client() as browser_at_provider:  # the provider's own cookies
        back = sign_in(browser_at_provider, start.headers["location"], login)
    assert back.startswith(CALLBACK + "?")
    arrived: httpx.Response = console.get(
        back.removeprefix("http://testserver"), follow_redirects=False
    )
    return arrived


def audit(db: DbFactory, action: str) -> list[AuditLog]:
    with db() as session:
        query = select(AuditLog).where(AuditLog.action == action).order_by(col(AuditLog.id))
        return list(session.exec(query).all())


def test_an_official_signs_in_through_the_provider_with_pkce(
    console: TestClient, provider: OidcProvider, lan: int, db: DbFactory
) -> None:
    form = console.get("/console/sign-in")
    assert "Đăng nhập bằng Tài khoản TP.HCM" in form.text and 'name="key"' in form.text

    start = console.get("/console/sign-in/oidc", follow_redirects=False)
    request = urlsplit(start.headers["location"])
    assert f"{request.scheme}://{request.netloc}" == provider.issuer
    query = {name: values[0] for name, values in parse_qs(request.query).items()}
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["client_id"] == CLIENT_ID and query["redirect_uri"] == CALLBACK
    assert query["response_type"] == "code" and query["nonce"] and query["state"]
    pending = start.headers["set-cookie"]
    assert "hl_oidc=" in pending and "HttpOnly" in pending and "SameSite=lax" in pending

    with httpx.Client() as at_provider:
        back = sign_in(at_provider, start.headers["location"], "lan")
    arrived = console.get(back.removeprefix("http://testserver"), follow_redirects=False)
    # A page that moves on by itself: a redirect here would lose the SameSite=Strict cookie
    # after the provider's cross-site redirect.
    assert arrived.status_code == 200
    assert 'http-equiv="refresh" content="0;url=/console"' in arrived.text
    assert f"{sessions.COOKIE}=" in arrived.headers["set-cookie"]
    assert 'hl_oidc=""' in arrived.headers["set-cookie"]  # the pending sign-in is spent

    home = console.get("/console")
    assert home.url.path == f"/console/a/{WARD}" and WARD_NAME in home.text
    assert console.get(f"/console/a/{OTHER_WARD}").status_code == 403  # the official's scope
    [signed_in] = audit(db, "console.sign_in")
    assert signed_in.actor == f"official:{lan}:{LAN}" and signed_in.detail == {"via": "oidc"}
    with db() as session:
        official = session.get(Official, lan)
        assert official is not None
        assert official.subject == "u-lan" and official.last_sign_in_at is not None

    # The same answer again (a replayed callback URL) signs nobody in.
    console.cookies.clear()
    replayed = console.get(back.removeprefix("http://testserver"), follow_redirects=False)
    assert replayed.status_code == 400 and "quá hạn" in replayed.text


def test_the_provider_sign_in_leads_to_the_page_asked_for(
    console: TestClient, provider: OidcProvider, lan: int
) -> None:
    """(alerts audit) An alert e-mail's link opened signed out: after the provider's round
    trip the official lands on the alerts page it pointed at, not the front page."""
    wanted = f"/console/alerts?agency={WARD}"
    assert console.get(wanted).url.path == "/console/sign-in"
    arrived = through_provider(console, "lan")
    assert arrived.status_code == 200
    onward = wanted.replace("&", "&amp;")
    assert f'http-equiv="refresh" content="0;url={onward}"' in arrived.text
    assert f'href="{onward}" id="continue"' in arrived.text
    assert console.get(wanted).url.path == "/console/alerts"


def test_signing_out_ends_the_session_on_the_server(
    console: TestClient, provider: OidcProvider, lan: int, db: DbFactory
) -> None:
    through_provider(console, "lan")
    copied = console.cookies.get(sessions.COOKIE)
    assert copied
    page = console.get(f"/console/a/{WARD}")
    token = CSRF_INPUT.search(page.text)
    assert token is not None
    left = console.post("/console/sign-out", data={"csrf": token.group(1)})
    assert left.url.path == "/console/sign-in"
    console.cookies.set(sessions.COOKIE, copied, path="/console")  # the copy, replayed
    again = console.get(f"/console/a/{WARD}", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/console/sign-in"
    with db() as session:
        [row] = session.exec(select(ConsoleSessionRecord)).all()
        assert row.official_id == lan and row.ended_at is not None
    [out] = audit(db, "console.sign_out")
    assert out.actor == f"official:{lan}:{LAN}"


def test_after_signing_out_the_next_person_at_the_pc_signs_in_at_the_provider(
    console: TestClient, provider: OidcProvider, lan: int
) -> None:
    """A counter PC several people share, one browser: the console's sign-out ends
    hailong's session, not the provider's, and the next person pressing the button came
    back signed in as the official who had just left (console audit). The provider is
    asked to ask who signs in, every time (prompt=login)."""
    with httpx.Client() as browser_at_provider:  # the one browser's cookies there
        start = console.get("/console/sign-in/oidc", follow_redirects=False)
        assert parse_qs(urlsplit(start.headers["location"]).query)["prompt"] == ["login"]
        back = sign_in(browser_at_provider, start.headers["location"], "lan")
        assert console.get(back.removeprefix("http://testserver")).status_code == 200
        page = console.get(f"/console/a/{WARD}")
        token = CSRF_INPUT.search(page.text)
        assert token is not None
        console.post("/console/sign-out", data={"csrf": token.group(1)})
        # The next person: the provider's login form again (sign_in fails without one).
        start = console.get("/console/sign-in/oidc", follow_redirects=False)
        back = sign_in(browser_at_provider, start.headers["location"], "stranger")
    refused = console.get(back.removeprefix("http://testserver"), follow_redirects=False)
    assert refused.status_code == 403
    assert console.get("/console").url.path == "/console/sign-in"


def test_signing_in_through_the_provider_ends_the_browsers_session_first(
    console: TestClient, provider: OidcProvider, lan: int
) -> None:
    """As a key sign-in does: the provider's answer comes back cross-site, without the
    SameSite=Strict cookie, so the first person's session lived on (console audit)."""
    through_provider(console, "lan")
    first = console.cookies.get(sessions.COOKIE)
    assert first and console.get(f"/console/a/{WARD}").status_code == 200
    console.get("/console/sign-in/oidc", follow_redirects=False)  # the next sign-in begins
    console.cookies.set(sessions.COOKIE, first, path="/console")  # a copy of the first
    again = console.get(f"/console/a/{WARD}", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/console/sign-in"


def test_the_key_form_on_a_refused_provider_sign_in_works(
    console: TestClient, provider: OidcProvider, make_key: KeyFactory
) -> None:
    """The callback is a cross-site navigation: no console cookie comes with it, and the
    refusal page's key form had no session for its CSRF token, a 403 (console audit)."""
    console.get("/console/sign-in")
    start = console.get("/console/sign-in/oidc", follow_redirects=False)
    with httpx.Client() as browser_at_provider:
        back = sign_in(browser_at_provider, start.headers["location"], "stranger")
    console.cookies.delete(sessions.COOKIE, path="/console")  # Strict: not sent cross-site
    refused = console.get(back.removeprefix("http://testserver"), follow_redirects=False)
    assert refused.status_code == 403 and 'name="key"' in refused.text
    token = CSRF_INPUT.search(refused.text)
    assert token is not None and token.group(1)
    key = make_key("admin")["Authorization"].removeprefix("Bearer ")
    sent = console.post("/console/sign-in", data={"csrf": token.group(1), "key": key})
    assert sent.status_code == 200 and sent.url.path == "/console"


def test_disabling_an_official_ends_their_sessions_at_the_next_request(
    console: TestClient, provider: OidcProvider, lan: int, db: DbFactory
) -> None:
    through_provider(console, "lan")
    assert console.get(f"/console/a/{WARD}").status_code == 200
    with db() as session:
        disable_official(session, "key:1:admin", lan)
    gone = console.get(f"/console/a/{WARD}", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/console/sign-in"
    refused = through_provider(console, "lan")
    assert refused.status_code == 403 and LAN in refused.text
    assert [a.detail for a in audit(db, "console.sign_in_refused")] == [{"reason": "disabled"}]


def test_an_admin_releases_a_mailbox_handed_to_a_successor(
    console: TestClient, provider: OidcProvider, lan: int, db: DbFactory, make_key: KeyFactory
) -> None:
    """Lan's mailbox, handed to her successor (another account at the provider), was refused
    for good: "bound to another account; ask your administrator", who could do nothing (no
    unbind; audit). The admin releases it (PATCH subject_bound false): Lan's own session
    ends, the successor's first sign-in binds their account, and Lan's is refused."""
    assert through_provider(console, "lan").status_code == 200  # binds Lan's subject
    assert console.get(f"/console/a/{WARD}").status_code == 200
    admin = make_key("admin")
    refused = TestClient(console.app)
    assert through_provider(refused, "impostor").status_code == 403
    listed = console.get("/api/v1/officials", headers=admin).json()["data"]
    assert [o["subject_bound"] for o in listed if o["id"] == lan] == [True]
    bad = console.patch(f"/api/v1/officials/{lan}", json={"subject_bound": True}, headers=admin)
    assert bad.status_code == 422, bad.text
    released = console.patch(
        f"/api/v1/officials/{lan}", json={"subject_bound": False}, headers=admin
    )
    assert released.status_code == 200, released.text
    assert released.json()["subject_bound"] is False
    gone = console.get(f"/console/a/{WARD}", follow_redirects=False)
    assert gone.status_code == 303  # the released account's session ended
    successor = TestClient(console.app)
    assert through_provider(successor, "impostor").status_code == 200
    assert successor.get(f"/console/a/{WARD}").status_code == 200
    console.cookies.clear()
    assert through_provider(console, "lan").status_code == 403  # now another account
    [change] = audit(db, "official.update")
    assert change.actor.startswith("key:") and change.detail == {
        "from": {"subject_bound": True},
        "to": {"subject_bound": False},
    }


def test_people_the_provider_knows_but_hailong_does_not_are_refused(
    console: TestClient, provider: OidcProvider, lan: int, db: DbFactory
) -> None:
    stranger = through_provider(console, "stranger")
    assert stranger.status_code == 403
    assert "khach@example.vn chưa được cấp quyền" in stranger.text
    unverified = through_provider(console, "unverified")  # before Lan's first sign-in
    assert unverified.status_code == 403
    assert through_provider(console, "lan").status_code == 200  # binds Lan's subject
    console.cookies.clear()
    impostor = through_provider(console, "impostor")  # Lan's address, another person
    assert impostor.status_code == 403
    refusals = audit(db, "console.sign_in_refused")
    assert [(a.actor, a.detail["reason"]) for a in refusals] == [
        ("oidc:khach@example.vn", "unknown"),
        (f"oidc:{LAN}", "email_unverified"),
        (f"oidc:{LAN}", "other_subject"),
    ]
    with db() as session:
        assert session.exec(select(ConsoleSessionRecord)).all()[0].official_id == lan
        assert len(session.exec(select(ConsoleSessionRecord)).all()) == 1


def test_addresses_and_subjects_at_the_columns_widths_give_pages_not_500s(
    console: TestClient, provider: OidcProvider, db: DbFactory
) -> None:
    """On PostgreSQL each of these was a 500: the actor 'official:<id>:<address>' outgrew
    the audit log's column, the refusal's 'oidc:<address>' too, the subject its own."""
    with db() as session:
        for email in (WIDE, "dai@x.vn"):
            add_official(session, "cli", email, "", "manager", WARD)
    assert through_provider(console, "wide").status_code == 200
    console.cookies.clear()
    assert through_provider(console, "too_wide").status_code == 403
    assert through_provider(console, "long_sub").status_code == 403
    [signed_in] = audit(db, "console.sign_in")
    assert signed_in.actor.startswith("official:") and len(signed_in.actor) == 255
    refusals = audit(db, "console.sign_in_refused")
    assert [a.detail["reason"] for a in refusals] == ["no_email", "bad_subject"]
    with db() as session:
        assert (
            session.exec(select(Official).where(Official.email == "dai@x.vn")).one().subject is None
        )


def test_an_auditor_official_reads_only_the_audit_log(
    console: TestClient, provider: OidcProvider, db: DbFactory
) -> None:
    with db() as session:
        add_official(session, "cli", "kiemtra@sotttt.tphcm.gov.vn", "Kiểm tra", "auditor", None)
    through_provider(console, "auditor")
    assert console.get("/console").url.path == "/console/audit"
    refused = console.get(f"/console/a/{WARD}")
    assert refused.status_code == 403
    # Where the role's page is, not "you see only your own agency" (console audit).
    assert "Kiểm toán viên xem nhật ký" in refused.text and 'href="/console/audit"' in refused.text
    assert "chỉ xem được đơn vị mình" not in refused.text


def test_a_callback_that_is_not_this_browsers_sign_in_is_refused(
    console: TestClient, provider: OidcProvider, lan: int, db: DbFactory
) -> None:
    # A state past ASCII, while a sign-in is under way: once a 500 (compared as str).
    console.get("/console/sign-in/oidc", follow_redirects=False)
    odd = console.get("/console/sign-in/oidc/callback?code=x&state=%C3%A9", follow_redirects=False)
    # Another tab's or an old sign-in's answer: start again (not "try again later").
    assert odd.status_code == 400 and "bấm đăng nhập lại" in odd.text
    start = console.get("/console/sign-in/oidc", follow_redirects=False)
    with httpx.Client() as at_provider:
        back = sign_in(at_provider, start.headers["location"], "lan")
    code = parse_qs(urlsplit(back).query)["code"][0]
    forged = console.get(
        f"/console/sign-in/oidc/callback?code={code}&state=not-ours", follow_redirects=False
    )
    assert forged.status_code == 400 and "bấm đăng nhập lại" in forged.text
    denied = console.get(
        "/console/sign-in/oidc/callback?error=access_denied&state=x", follow_redirects=False
    )
    assert denied.status_code == 400
    assert audit(db, "console.sign_in") == []
    assert console.get("/console", follow_redirects=False).headers["location"] == (
        "/console/sign-in"
    )


def test_a_crafted_answer_with_a_wrong_state_leaves_the_sign_in_under_way_alone(
    console: TestClient, provider: OidcProvider, lan: int, db: DbFactory
) -> None:
    """(review) A link to the callback with a state not this browser's, opened while the
    official was at the provider, spent the sign-in under way before its state was
    compared: the official's genuine answer then read "start again". It is refused and
    spends nothing now; the cookie stays for the genuine answer."""
    start = console.get("/console/sign-in/oidc", follow_redirects=False)
    with httpx.Client() as at_provider:
        back = sign_in(at_provider, start.headers["location"], "lan")
    for crafted in ("code=x&state=not-ours", "error=access_denied&state=not-ours"):
        refused = console.get(f"/console/sign-in/oidc/callback?{crafted}", follow_redirects=False)
        assert refused.status_code == 400 and "bấm đăng nhập lại" in refused.text
        assert "hl_oidc" not in refused.headers.get("set-cookie", "")
    genuine = console.get(back.removeprefix("http://testserver"), follow_redirects=False)
    assert genuine.status_code == 200, genuine.text
    assert len(audit(db, "console.sign_in")) == 1


def answers_for_one_request(console: TestClient, how_many: int) -> tuple[str, list[str]]:
    """A sign-in started once (its cookie `hl_oidc` in `console`'s jar) and `how_many`
    answers of the provider to that one authorization request (a new code each: the
    official signed in at the provider again, or someone holding a copy of the cookie did).
    Returns the cookie's value and the callback paths."""
    start = console.get("/console/sign-in/oidc", follow_redirects=False)
    assert start.status_code == 303, start.text
    pending = console.cookies.get("hl_oidc")
    assert pending
    backs = []
    for _ in range(how_many):
        with httpx.Client() as at_provider:
            back = sign_in(at_provider, start.headers["location"], "lan")
        backs.append(back.removeprefix("http://testserver"))
    return pending, backs


def test_a_copy_of_a_spent_sign_in_cookie_signs_nobody_in(
    console: TestClient, provider: OidcProvider, lan: int, db: DbFactory
) -> None:
    """(audit) The sign-in under way (state, nonce, PKCE verifier) lived only in the
    browser's cookie, and after the provider's answer the browser was only asked to delete
    it: a copy of the cookie with another code for the same request signed a browser in
    again (a fresh 8-hour session each time), where the threat model says "one use"."""
    pending, [first_back, second_back] = answers_for_one_request(console, 2)
    first = console.get(first_back, follow_redirects=False)
    assert first.status_code == 200  # signed in; the pending sign-in is spent
    assert 'hl_oidc=""' in first.headers["set-cookie"]

    console.cookies.clear()  # another browser, holding a copy of the spent cookie
    console.cookies.set("hl_oidc", pending, path="/console/sign-in/oidc")
    second = console.get(second_back, follow_redirects=False)
    assert second.status_code == 400 and "bấm đăng nhập lại" in second.text  # start again
    # At most a fresh pre-session, for the page's key form: nobody is signed in (below).
    assert len(audit(db, "console.sign_in")) == 1
    assert console.get("/console", follow_redirects=False).headers["location"] == (
        "/console/sign-in"
    )
    # (operations audit) The IT centre reads it in the audit log, not only the process log.
    refused = audit(db, "console.sign_in_refused")
    assert [(r.actor, r.detail) for r in refused] == [("oidc:unknown", {"reason": "spent"})]


def test_a_forged_code_is_in_the_audit_log_and_nothing_of_it(
    console: TestClient, provider: OidcProvider, lan: int, db: DbFactory
) -> None:
    """(operations audit) A code the provider refuses (forged, or stolen and spent) was a
    WARNING line only: the audit log had no trace of someone trying a forged answer."""
    _, [back] = answers_for_one_request(console, 1)
    forged = httpx.URL(back).copy_set_param("code", "forged-code")
    assert console.get(str(forged), follow_redirects=False).status_code == 400
    [refused] = audit(db, "console.sign_in_refused")
    assert (refused.actor, refused.detail) == ("oidc:unknown", {"reason": "token_refused"})
    assert "forged-code" not in str(refused.detail)


def test_two_answers_at_once_with_one_cookie_sign_in_at_most_once(
    console: TestClient, provider: OidcProvider, lan: int, db: DbFactory
) -> None:
    """(audit) Two callbacks at the same moment with the same pending cookie (a copy used
    while the official's own answer is on its way) both signed in: nothing on the server
    knew the sign-in was spent. One of them is turned away now."""
    _, backs = answers_for_one_request(console, 2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda back: console.get(back, follow_redirects=False), backs))
    assert sorted(answer.status_code for answer in answers) == [200, 400]
    assert len(audit(db, "console.sign_in")) == 1


def test_provider_down_and_key_sign_in_switched_off(
    database_url: str, provider: OidcProvider, tmp_path: Path
) -> None:
    down = make_settings(
        database_url,
        oidc_issuer=f"http://127.0.0.1:{free_port()}",
        oidc_client_id=CLIENT_ID,
        console_key_sign_in=False,
    )
    with TestClient(create_app(down)) as client:
        form = client.get("/console/sign-in")
        assert 'name="key"' not in form.text
        response = client.get("/console/sign-in/oidc", follow_redirects=False)
        assert response.status_code == 503
        assert "Chưa kết nối được với hệ thống tài khoản" in response.text


def test_a_provider_that_publishes_no_endpoints_gives_a_page_not_a_500(
    database_url: str,
) -> None:
    with http_server(discovery_only()) as issuer:
        settings = make_settings(database_url, oidc_issuer=issuer, oidc_client_id=CLIENT_ID)
        with TestClient(create_app(settings)) as client:
            response = client.get("/console/sign-in/oidc", follow_redirects=False)
    assert response.status_code == 503
    assert "Chưa kết nối được với hệ thống tài khoản" in response.text


@pytest.mark.parametrize("setting", ["as the provider names itself", "without its slash"])
def test_a_provider_whose_issuer_ends_with_a_slash_signs_officials_in(
    database_url: str, tmp_path: Path, lan: int, setting: str
) -> None:
    """Auth0 names itself "https://tenant.auth0.com/": the setting lost its slash and was
    then compared with the provider's name and the ID token's iss, so nobody could sign in
    (503, whatever was configured) (audit)."""
    with OidcProvider(
        CLIENT_ID, CLIENT_SECRET, CALLBACK, ACCOUNTS, log_dir=tmp_path, issuer_path="/"
    ) as slashed:
        assert slashed.discovery()["issuer"] == slashed.issuer.rstrip("/") + "/"
        issuer = slashed.issuer if setting.startswith("as") else slashed.issuer.rstrip("/")
        settings = oidc_settings(database_url, slashed, oidc_issuer=issuer)
        with TestClient(create_app(settings)) as console:
            arrived = through_provider(console, "lan")
            assert arrived.status_code == 200, arrived.text
            assert console.get("/console", follow_redirects=False).status_code == 303
            assert console.get(f"/console/a/{WARD}").status_code == 200


def test_a_provider_with_a_malformed_token_endpoint_gives_a_page_not_a_500(
    database_url: str,
) -> None:
    """httpx.InvalidURL is neither an httpx.HTTPError nor a ValueError: a token endpoint
    httpx cannot parse was a 500 at the callback, not the "could not reach" page (audit)."""
    with http_server(
        # a port that is no number
        discovery_only(
            authorization_endpoint="/auth",
            token_endpoint="http://127.0.0.1:token/token",
            jwks_uri="/jwks",
        )
    ) as issuer:
        settings = make_settings(database_url, oidc_issuer=issuer, oidc_client_id=CLIENT_ID)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            start = client.get("/console/sign-in/oidc", follow_redirects=False)
            assert start.status_code == 303, start.text
            state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
            back = client.get(
                f"/console/sign-in/oidc/callback?code=abc&state={state}",
                follow_redirects=False,
            )
    assert back.status_code == 503, back.status_code  # the provider's trouble: an outage
    assert "Chưa kết nối được với hệ thống tài khoản" in back.text


def test_a_refusal_says_why_the_account_was_refused(
    console: TestClient, provider: OidcProvider, lan: int, db: DbFactory
) -> None:
    """Every refusal read "not given access, or locked; ask your administrator": Lan,
    listed and enabled, whose address the provider had not verified, was sent to an
    administrator who could do nothing; an account without an address read "Tài khoản  chưa
    được cấp quyền", naming nobody (audit)."""
    unverified = through_provider(console, "unverified")
    assert unverified.status_code == 403 and NOT_GRANTED not in unverified.text
    assert f"Hệ thống tài khoản chưa xác nhận địa chỉ {LAN}" in unverified.text
    no_email = through_provider(console, "no_email")
    assert no_email.status_code == 403 and NOT_GRANTED not in no_email.text
    assert "Hệ thống tài khoản không gửi địa chỉ e-mail" in no_email.text
    assert through_provider(console, "lan").status_code == 200  # binds Lan's subject
    console.cookies.clear()
    impostor = through_provider(console, "impostor")
    assert f"Địa chỉ {LAN} đã gắn với một tài khoản khác" in impostor.text
    refusals = audit(db, "console.sign_in_refused")  # as they were
    assert [(a.actor, a.detail) for a in refusals] == [
        (f"oidc:{LAN}", {"reason": "email_unverified"}),
        ("oidc:sub:u-no-email", {"reason": "no_email"}),
        (f"oidc:{LAN}", {"reason": "other_subject"}),
    ]


def _language_link(html: str) -> str:
    """Where the page's language link returns to (its `next`)."""
    link = re.search(r'href="(/console/lang/en\?next=[^"]*)"', html)
    assert link, "no English link on the page"
    return parse_qs(urlsplit(unescape(link.group(1))).query)["next"][0]


def test_switching_language_on_a_refusal_leads_to_the_sign_in_page_not_the_spent_callback(
    console: TestClient, provider: OidcProvider, lan: int
) -> None:
    """The refusal was shown at the callback's address, and its language link led back
    there, code and state in the query: the sign-in was spent, so the official read "This
    sign-in has expired or was started in another browser" instead of why they were
    refused, and the spent code sat in the page (audit). It leads to the sign-in page; the
    refusal is not handed on by the link, which told it to anyone it was sent to (review)."""
    refused = through_provider(console, "unverified")
    assert refused.status_code == 403
    back_to = _language_link(refused.text)
    assert back_to == "/console/sign-in"
    assert "code=" not in refused.text and "state=" not in refused.text
    in_english = console.get("/console/lang/en", params={"next": back_to})
    assert in_english.url.path == "/console/sign-in"
    assert "has expired or was started in another browser" not in in_english.text
    assert 'id="sign-in-problem"' not in in_english.text
    # Signed in again, in English: the refusal is told again, in English.
    again = through_provider(console, "unverified")
    assert again.status_code == 403 and "has not verified the address" in again.text


@pytest.fixture
def configured(database_url: str) -> Iterator[TestClient]:
    settings = make_settings(
        database_url,
        oidc_issuer="https://id.example.gov.vn",
        oidc_client_id="hailong-console",
        oidc_provider_name="Tài khoản TP.HCM",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_crafted_link_does_not_say_account_sign_in_is_off_when_it_is_on(
    configured: TestClient,
) -> None:
    """The sign-in page told whatever ?problem= its link named (review): the told problem
    is signed by the page that told it (test_switching_language_on_a_refusal_...)."""
    page = configured.get("/console/sign-in", params={"problem": "oidc_off"})
    assert page.status_code == 200
    assert 'id="sign-in-oidc"' in page.text  # the provider's button is there...
    # ...and the page says in the same breath that sign-in with an account is not enabled.
    assert "chưa được bật cho hệ thống này" not in page.text


def test_a_crafted_link_does_not_tell_an_official_their_account_is_locked(
    configured: TestClient,
) -> None:
    """No sign-in was tried in this browser: the refusal is the link's, not the provider's."""
    page = configured.get("/console/sign-in", params={"problem": "not_official"})
    assert page.status_code == 200
    assert "hoặc đã bị khóa" not in page.text


def test_forged_provider_answers_are_throttled_not_written_to_the_audit_log_without_end(
    database_url: str, db: DbFactory
) -> None:
    """A pending sign-in (a cookie anyone gets from GET /console/sign-in/oidc) let one
    address send the callback answers with a wrong state without end, each one a
    `console.sign_in_refused` record: the IT centre's audit log buried under them
    (security audit). Each counts as a wrong guess, as a wrong key does."""
    endpoints = discovery_only(
        authorization_endpoint="/authorize", token_endpoint="/token", jwks_uri="/jwks"
    )
    with http_server(endpoints) as issuer:
        settings = make_settings(
            database_url, oidc_issuer=issuer, oidc_client_id=CLIENT_ID, guess_limit=20
        )
        with TestClient(create_app(settings)) as browser:
            start = browser.get("/console/sign-in/oidc", follow_redirects=False)
            assert start.status_code == 303 and browser.cookies.get("hl_oidc")
            answers = [
                browser.get(
                    f"/console/sign-in/oidc/callback?code=x&state=forged-{i}",
                    follow_redirects=False,
                )
                for i in range(30)
            ]
    assert [a.status_code for a in answers] == [400] * 20 + [429] * 10
    assert answers[-1].headers["retry-after"].isdigit()
    with db() as session:
        written = session.exec(
            select(AuditLog).where(AuditLog.action == "console.sign_in_refused")
        ).all()
    assert len(written) == 20


def test_accounts_refused_again_and_again_are_throttled_like_forged_answers(
    database_url: str, provider: OidcProvider, db: DbFactory
) -> None:
    """A genuine answer for an account hailong refuses (no such official) was recorded
    each time without a limit: anyone with an account at the province's provider could
    bury the audit log (review). It counts as a wrong guess, as a forged answer does."""
    with TestClient(create_app(oidc_settings(database_url, provider, guess_limit=3))) as console:
        statuses = [through_provider(console, "stranger").status_code for _ in range(5)]
    assert statuses == [403, 403, 403, 429, 429]
    assert len(audit(db, "console.sign_in_refused")) == 3
