"""The TT 01/2018 card in headless Chromium: the city's manager opens 79.BTH's worked
September (tests/scoring/test_tt01.py), sees the total not yet classed, enters indicators 5,
6 and 9, and sees the total and its class appear; axe-core finds nothing serious.

Screenshots land in artifacts/ (console-tt01-*.png).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from service.app import create_app
from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer, free_port, make_settings, serve
from tests.console.conftest import WARD, raw_key
from tests.console.test_alerts_browser import go, serious_violations
from tests.scoring.test_tt01 import TT01, seed_september
from tests.scoring.test_worked_examples import Office

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]


@pytest.fixture
def live_server(database_url: str, make_key: KeyFactory) -> Iterator[LiveServer]:
    """The service with TT 01/2018 beside the K score, on 79.BTH's seeded September."""
    settings = make_settings(
        database_url, base_url=f"http://127.0.0.1:{free_port()}", scoring_profile_also=TT01
    )
    with TestClient(create_app(settings)) as client:
        seed_september(Office(client, make_key))
    with serve(settings) as live:
        yield live


def test_the_competent_authority_completes_the_tt01_score(
    live_server: LiveServer, make_key: KeyFactory, browser: Browser, artifacts_dir: Path
) -> None:
    # bypass_csp: the injected axe-core is an inline script the page's CSP refuses.
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        bypass_csp=True,
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        go(page, f"{live_server.url}/console/sign-in")
        page.get_by_label("Khóa truy cập").fill(raw_key(make_key("manager", agency="79")))
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name="Đăng nhập").click()
        go(page, f"{live_server.url}/console/a/{WARD}?period=2025-09")

        card = page.locator("#tt01")
        expect(card.get_by_role("heading", level=2)).to_contain_text("Thông tư 01/2018")
        expect(page.locator("#tt01-total")).to_have_text("—")
        expect(page.locator("#tt01-class")).to_have_text("Chưa đủ dữ liệu")
        expect(page.locator("#tt01-missing")).to_contain_text("5, 6, 9")
        # Each indicator's bar is drawn, its width the points out of 2 (indicator 4: 3/2).
        bar = page.locator('tr[data-indicator="agencies_contacted"] .tt01-bar')
        bar_width = bar.bounding_box()
        fill_width = bar.locator(".fill").bounding_box()
        assert bar_width and fill_width
        assert fill_width["width"] == pytest.approx(bar_width["width"] * 0.75, abs=1.5)
        assert serious_violations(page) == []
        page.screenshot(path=artifacts_dir / "console-tt01-missing.png", full_page=True)

        form = page.locator("#tt01-form")
        form.get_by_label(
            "5. Tổ chức tiếp nhận hồ sơ, trả kết quả tại Bộ phận Một cửa"
        ).select_option("2")
        form.get_by_label("6. Công khai thủ tục hành chính").select_option("1")
        form.get_by_label("9. Cung cấp dịch vụ công trực tuyến").select_option("2")
        with page.expect_navigation(wait_until="load"):
            form.get_by_role("button", name="Lưu chỉ tiêu 5, 6 và 9").click()

        expect(page.locator("#tt01-saved")).to_have_text("Đã lưu chỉ tiêu 5, 6 và 9.")
        # 37/6 + 2 + 1 + 2 = 67/6, rounded down on screen: "Đạt" (10 ≤ total < 15).
        expect(page.locator("#tt01-total")).to_have_text("11,16")
        expect(page.locator("#tt01-class")).to_have_text("Đạt")
        expect(page.locator("#tt01-missing")).to_have_count(0)
        expect(page.locator("#tt01-6")).to_have_text("1")
        assert page.url.endswith("#tt01-saved")
        assert serious_violations(page) == []
        page.screenshot(path=artifacts_dir / "console-tt01-entered.png", full_page=True)
    finally:
        context.close()
