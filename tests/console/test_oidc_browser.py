"""An official signs in to the console in headless Chromium through a real OpenID Connect
provider (the `oidc-provider` npm package on 127.0.0.1, tests/harness/oidc): the console's
sign-in page, its provider button, the provider's login form, back to the ward's page;
then signs out, and the session cookie, copied before, opens nothing in another browser
(the session ended on the server). axe-core finds nothing serious on the sign-in page.

Screenshots land in artifacts/ (console-oidc-*.png).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import select

from service.auth.officials import add_official
from service.console.sessions import COOKIE
from service.models import AuditLog, ConsoleSessionRecord
from tests.conftest import ONE_BACKEND, LiveServer, free_port, make_settings, serve
from tests.console.conftest import WARD, WARD_NAME
from tests.console.test_console_browser import axe_violations
from tests.harness.oidc_provider import OidcProvider

pytestmark = [
    pytest.mark.browser,
    ONE_BACKEND,
    pytest.mark.servers,
    pytest.mark.usefixtures("agencies"),
]

CLIENT_ID, CLIENT_SECRET = "hailong-console", "s3cret-of-the-browser-test-client"
PROVIDER_NAME = "Tài khoản TP.HCM"
LAN = "lan@phuongbenthanh.tphcm.gov.vn"
LAN_NAME = "Nguyễn Thị Lan"
ACCOUNTS = {"lan": {"sub": "u-lan", "email": LAN, "email_verified": True, "name": LAN_NAME}}


@pytest.fixture(scope="module")
def base_url() -> str:
    """The console's address for the whole module: the provider knows one redirect_uri."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def provider(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    logs = tmp_path_factory.mktemp("oidc-browser")
    callback = f"{base_url}/console/sign-in/oidc/callback"
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, callback, ACCOUNTS, log_dir=logs) as running:
        yield running


@pytest.fixture
def live(database_url: str, base_url: str, provider: OidcProvider) -> Iterator[LiveServer]:
    settings = make_settings(
        database_url,
        base_url=base_url,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_provider_name=PROVIDER_NAME,
    )
    with serve(settings) as server:
        yield server


@pytest.fixture
def lan(live: LiveServer) -> int:
    with live.session() as session:
        official = add_official(session, "cli", LAN, LAN_NAME, "manager", WARD)
        assert official.id is not None
        return official.id


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def new_page(browser: Browser, contexts: list[BrowserContext], **options: Any) -> Page:
    """A page in a context of its own (its own cookies)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        **options,
    )
    context.set_default_timeout(10_000)
    contexts.append(context)
    return context.new_page()


def go(page: Page, url: str, status: int = 200) -> None:
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == status, response and response.text()


def test_an_official_signs_in_at_the_provider_and_signing_out_ends_the_session(
    live: LiveServer,
    provider: OidcProvider,
    lan: int,
    browser: Browser,
    contexts: list[BrowserContext],
    artifacts_dir: Path,
) -> None:
    ward_url = f"{live.url}/console/a/{WARD}"
    page = new_page(browser, contexts)

    # The console sends a stranger to its sign-in page, which offers the provider.
    go(page, f"{live.url}/console")
    assert page.url == f"{live.url}/console/sign-in"
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    button = page.locator("#sign-in-oidc")
    expect(button).to_have_text(f"Đăng nhập bằng {PROVIDER_NAME}")
    page.screenshot(path=artifacts_dir / "console-oidc-sign-in.png", full_page=True)

    # Off to the provider: its own login form, on its own origin.
    button.click()
    page.wait_for_url(f"{provider.issuer}/interaction/**")
    login = page.locator('input[name="login"]')
    expect(login).to_be_visible()
    login.fill("lan")
    page.get_by_role("button", name="Sign in").click()

    # Back through the callback (a page that moves on by itself) to the official's ward.
    page.wait_for_url(ward_url)
    expect(page.locator(".agency-name")).to_contain_text(WARD_NAME)
    expect(page.get_by_text(WARD_NAME).first).to_be_visible()
    expect(page.locator(".who")).to_have_text(LAN)  # an official is shown by e-mail
    page.screenshot(path=artifacts_dir / "console-oidc-signed-in.png", full_page=True)

    cookies = page.context.cookies()
    assert "hl_oidc" not in {c["name"] for c in cookies}  # the pending sign-in is spent
    [cookie] = [c for c in cookies if c["name"] == COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    with live.session() as session:
        [signed_in] = session.exec(
            select(AuditLog).where(AuditLog.action == "console.sign_in")
        ).all()
        assert signed_in.actor == f"official:{lan}:{LAN}" and signed_in.detail == {"via": "oidc"}

    def with_copied_cookie() -> Page:
        """Another browser, holding only the copy of the console's cookie."""
        other = new_page(browser, contexts)
        other.context.add_cookies(
            [
                {
                    "name": cookie["name"],
                    "value": cookie["value"],
                    "domain": cookie["domain"],
                    "path": cookie["path"],
                    "expires": cookie["expires"],
                    "httpOnly": cookie["httpOnly"],
                    "secure": cookie["secure"],
                    "sameSite": cookie["sameSite"],
                }
            ]
        )
        return other

    # The copy is a working credential while the session lasts...
    before = with_copied_cookie()
    go(before, ward_url)
    assert before.url == ward_url
    expect(before.locator(".agency-name")).to_contain_text(WARD_NAME)

    # ...the official signs out...
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Đăng xuất").click()
    assert page.url == f"{live.url}/console/sign-in"
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    # (The sign-in page may start a fresh pre-session for its form; never the old one.)
    assert cookie["value"] not in {
        c["value"] for c in page.context.cookies() if c["name"] == COOKIE
    }

    # ...and the copy opens nothing: the session ended on the server, not only in the browser.
    after = with_copied_cookie()
    go(after, ward_url)
    assert after.url == f"{live.url}/console/sign-in"
    expect(after.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    expect(after.locator("#sign-in-oidc")).to_be_visible()
    assert WARD_NAME not in (after.text_content("body") or "")
    with live.session() as session:
        [row] = session.exec(select(ConsoleSessionRecord)).all()
        assert row.official_id == lan and row.ended_at is not None


def test_the_sign_in_page_with_the_provider_button_is_axe_clean(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = new_page(browser, contexts, bypass_csp=True)  # the injected axe needs it
    go(page, f"{live.url}/console/sign-in")
    expect(page.locator("#sign-in-oidc")).to_be_visible()
    serious = [
        f"[{v['impact']}] {v['id']}: {v['help']} at {v['targets']}"
        for v in axe_violations(page)
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
