"""The alerts page in headless Chromium: a ward manager signs in, follows the navigation to
the alerts, sees the ward's alert and switches a rule off; the rule is off in the database
and in the audit log, and axe-core finds nothing serious on the page.

Screenshots land in artifacts/ (console-alerts-*.png).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from service.admin.agencies import get_agency_by_code
from service.models import Alert, AlertRuleOverride, AuditLog
from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer
from tests.console.conftest import WARD, raw_key

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]

AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
AXE_RUN_JS = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help}));
}"""
K_RULE = "Chỉ số hài lòng K dưới ngưỡng"


def go(page: Page, url: str) -> None:
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, response and response.text()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(content=AXE_JS)
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN_JS)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_a_manager_opens_the_alerts_and_switches_a_rule_off(
    live_server: LiveServer, make_key: KeyFactory, browser: Browser, artifacts_dir: Path
) -> None:
    with live_server.session() as session:
        ward = get_agency_by_code(session, WARD)
        assert ward is not None and ward.id is not None
        session.add(
            Alert(
                agency_id=ward.id,
                rule="k_below_threshold",
                period="2025-Q3",
                values={"k": 14.0, "threshold": 20.0, "group": "khong_hai_long"},
                email_reason="channel_not_configured",
            )
        )
    # bypass_csp: the injected axe-core is an inline script the page's CSP refuses.
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        bypass_csp=True,
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        go(page, f"{live_server.url}/console/sign-in")
        page.get_by_label("Khóa truy cập").fill(raw_key(make_key("manager", agency=WARD)))
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name="Đăng nhập").click()

        with page.expect_navigation(wait_until="load"):
            page.get_by_role("link", name="Cảnh báo", exact=True).click()
        assert page.url == f"{live_server.url}/console/alerts"
        expect(page.get_by_role("heading", level=1)).to_have_text("Cảnh báo trước kỳ xếp hạng")
        raised = page.locator("#alerts tbody tr")
        expect(raised).to_have_count(1)
        expect(raised.first).to_contain_text(K_RULE)
        expect(raised.first).to_contain_text("máy chủ thư điện tử chưa được cấu hình")
        row = page.locator('#rules-in-force tr[data-rule="k_below_threshold"]')
        expect(row.locator(".state")).to_contain_text("Đang bật")
        assert serious_violations(page) == []
        page.screenshot(path=artifacts_dir / "console-alerts.png", full_page=True)

        # The ward's own manager may not silence what also tells the district (audit).
        expect(page.locator("#stricter-only")).to_be_visible()
        page.get_by_label(f"Cảnh báo {K_RULE}").select_option("off")
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name=f"Lưu {K_RULE}").click()
        expect(page.locator("#problem")).to_contain_text("việc của lãnh đạo cấp trên")
        expect(page.locator("#problem")).to_be_focused()
        expect(row.locator(".state")).to_contain_text("Đang bật")
        expect(page.get_by_label(f"Cảnh báo {K_RULE}")).to_have_value("off")  # as chosen
        assert serious_violations(page) == []
        page.screenshot(path=artifacts_dir / "console-alerts-rule-off.png", full_page=True)
        # Stricter is the ward's own call: warned below 21 rather than 20.
        page.get_by_label(f"Cảnh báo {K_RULE}").select_option("on")
        page.get_by_label(f"Ngưỡng riêng (để trống: theo mặc định) {K_RULE}").fill("21")
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name=f"Lưu {K_RULE}").click()
        expect(page.locator("#saved")).to_have_text(f"Đã lưu quy tắc: {K_RULE}.")
        expect(row.locator(".threshold")).to_have_text("21")
    finally:
        context.close()

    with live_server.session() as session:
        override = session.exec(
            select(AlertRuleOverride).where(AlertRuleOverride.agency_id == ward.id)
        ).one()
        assert (override.rule, override.enabled, override.threshold) == (
            "k_below_threshold",
            True,
            21.0,
        )
        audited = session.exec(select(AuditLog).where(AuditLog.action == "alert_rules.set")).one()
        assert audited.target == f"agency:{WARD}"
