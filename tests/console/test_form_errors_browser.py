"""A console form refused with errors, in headless Chromium: the page it comes back on moves
the keyboard and screen-reader focus to the summary of its problems, as the survey and the
follow-up pages do, and Tab goes on from there into the form."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer
from tests.console.conftest import WARD, raw_key

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]


def sent_back(page: Page, act: Callable[[], None], status: int) -> None:
    with page.expect_navigation(wait_until="load") as navigation:
        act()
    response = navigation.value
    assert response is not None and response.status == status, response and response.text()


def test_a_refused_console_form_opens_on_its_problems(
    live_server: LiveServer, make_key: KeyFactory, browser: Browser
) -> None:
    """Each refused form (sign-in, D and E, a kiosk's counter, an alert's threshold) came
    back with the focus on <body>: a keyboard user pressing Enter in a field had to find the
    errors again from the top of the page (pages audit)."""
    context = browser.new_context(
        viewport={"width": 360, "height": 640}, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh"
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/console/sign-in", wait_until="load")
        page.fill("#key", "hl_not-a-real-key")
        sent_back(page, lambda: page.keyboard.press("Enter"), 401)
        # Chromium applies autofocus at its next rendering, not by "load": wait for it.
        expect(page.locator("#sign-in-problem")).to_be_focused()
        expect(page.locator("#sign-in-problem")).to_be_in_viewport()
        page.keyboard.press("Tab")
        expect(page.locator("#key")).to_be_focused()  # Tab leads on into the form to correct

        page.fill("#key", raw_key(make_key("admin")))
        sent_back(page, lambda: page.keyboard.press("Enter"), 200)
        page.goto(f"{live_server.url}/console/a/{WARD}", wait_until="load")
        page.fill("#d", "abc")
        sent_back(page, lambda: page.keyboard.press("Enter"), 422)
        expect(page.locator("#err-d")).to_be_visible()
        expect(page.locator("#inputs-problems")).to_be_focused()
        expect(page.locator("#inputs-problems")).to_be_in_viewport()
        # The summary names the field to fix, and its link leads there.
        page.keyboard.press("Tab")
        link = page.locator("#inputs-problems").get_by_role("link", name="Điểm D")
        expect(link).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#d")).to_be_focused()

        page.goto(f"{live_server.url}/console/a/{WARD}/kiosks", wait_until="load")
        page.fill("#counter_code", "   ")
        sent_back(page, lambda: page.keyboard.press("Enter"), 422)
        expect(page.locator("#counter-problem")).to_be_focused()

        page.goto(f"{live_server.url}/console/alerts?agency={WARD}", wait_until="load")
        page.fill("#threshold-k_below_threshold", "abc")
        sent_back(page, lambda: page.keyboard.press("Enter"), 422)
        expect(page.locator("#problem")).to_be_focused()
        expect(page.locator("#threshold-k_below_threshold")).to_have_attribute(
            "aria-describedby", "err-threshold-k_below_threshold hint-k_below_threshold"
        )
    finally:
        context.close()
