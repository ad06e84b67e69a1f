"""(console audit) On a phone the agency page's Word report link, alone in its paragraph
(not a link inside a sentence), was 22 px tall: under WCAG 2.2's 24 px minimum target
(2.5.8), let alone the 44 px the console holds its other links and buttons to."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer
from tests.console.conftest import WARD, raw_key

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]


def test_report_links_are_tappable_on_a_phone(
    live_server: LiveServer, make_key: KeyFactory, browser: Browser
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/console/sign-in")
        page.get_by_label("Khóa truy cập").fill(raw_key(make_key("manager", WARD)))
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name="Đăng nhập").tap()
        page.goto(f"{live_server.url}/console/a/{WARD}", wait_until="load")
        for selector in ("#report-pdf", "#report-docx"):
            box = page.locator(selector).bounding_box()
            assert box is not None, selector
            assert box["height"] >= 44, f"{selector} is {box['height']} px tall on a phone"
    finally:
        context.close()
