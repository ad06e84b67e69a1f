"""The console and the citizen's follow-up page in headless Chromium: a ward manager signs in,
sees its own scores and staff (one under the anonymity minimum), answers a petition; the
citizen reads the reply on a phone and judges it, and group 5 rate b moves. CSRF and
cross-agency access are refused; axe-core finds nothing serious; a phone needs no sideways
scrolling.

Screenshots land in artifacts/ (console-*.png, followup-*.png).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import axe_playwright_python
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import select

from service.console.sessions import COOKIE
from service.models import Petition
from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer, free_port, serve
from tests.console.conftest import (
    COMPLAINT,
    OTHER_WARD,
    WARD,
    WARD_NAME,
    Office,
    counting_survey_petitions,
    raw_key,
    seed_ward,
)
from tests.surveys.conftest import ANSWERS

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]

AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
REPLY = "Phường đã bố trí thêm một quầy tiếp nhận.\nXin cảm ơn ông/bà đã góp ý."
Contexts = Callable[..., Page]


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The console's server, in a province that counts survey comments asking for an answer
    as petitions: the inbox's replies and verdicts then move group 5 on screen."""
    base_url = f"http://127.0.0.1:{free_port()}"
    with serve(counting_survey_petitions(database_url, tmp_path, base_url)) as live:
        yield live


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Contexts]:
    """open_page(phone=False, **options) -> a page in its own context (its own cookies)."""
    contexts: list[BrowserContext] = []

    def make(phone: bool = False, **options: Any) -> Page:
        settings: dict[str, Any] = {
            "viewport": PHONE if phone else LAPTOP,
            "device_scale_factor": 2 if phone else 1,
            "is_mobile": phone,
            "has_touch": phone,
            "locale": "vi-VN",
            "timezone_id": "Asia/Ho_Chi_Minh",
            **options,
        }
        context = browser.new_context(**settings)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def office(live_server: LiveServer, make_key: KeyFactory) -> Iterator[Office]:
    with httpx.Client(base_url=live_server.url) as http:
        yield Office(http, make_key)


def go(page: Page, url: str, status: int = 200) -> None:
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == status, response and response.text()


def submit(page: Page, act: Callable[[], None], status: int = 200) -> None:
    with page.expect_navigation(wait_until="load") as navigation:
        act()
    response = navigation.value
    assert response is not None and response.status == status, response and response.text()


def sign_in(page: Page, live: LiveServer, key: str) -> None:
    go(page, f"{live.url}/console")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    page.get_by_label("Khóa truy cập").fill(key)
    submit(page, lambda: page.get_by_role("button", name="Đăng nhập").click())


def petition_row(live: LiveServer, code: str) -> Petition:
    with live.session() as session:
        return session.exec(select(Petition).where(Petition.code == code)).one()


# --- a ward manager --------------------------------------------------------------------------


def test_ward_manager_signs_in_sees_its_scores_and_is_refused_the_other_ward(
    live_server: LiveServer,
    office: Office,
    make_key: KeyFactory,
    open_page: Contexts,
    artifacts_dir: Path,
) -> None:
    seed_ward(office)
    page = open_page()
    sign_in(page, live_server, raw_key(make_key("manager", WARD)))
    assert page.url == f"{live_server.url}/console/a/{WARD}"
    expect(page.locator(".agency-name")).to_contain_text(WARD_NAME)
    expect(page.locator("#part-a")).to_have_text("0,8")  # 4 of 5 dossiers on time
    # 5 dossiers: BT-LATE overdue, BT-1 has a petition (its survey complaint asked for an
    # answer, and this province counts those) → 3 ÷ 5.
    expect(page.locator("#g5-c")).to_have_text("60 %")
    expect(page.locator("#k-group")).to_have_text("Chưa đủ dữ liệu")  # no E yet
    page.screenshot(path=artifacts_dir / "console-agency-laptop.png", full_page=True)

    [cookie] = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert 7.9 * 3600 < cookie["expires"] - time.time() <= 8 * 3600
    assert COOKIE not in page.evaluate("document.cookie")  # no script can read it

    go(page, f"{live_server.url}/console/a/{OTHER_WARD}", status=403)
    expect(page.get_by_role("heading", level=1)).to_have_text("Không có quyền truy cập")
    assert "Phường Sài Gòn" not in (page.text_content("body") or "")
    page.screenshot(path=artifacts_dir / "console-refused.png", full_page=True)

    submit(page, lambda: page.get_by_role("button", name="Đăng xuất").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    go(page, f"{live_server.url}/console/a/{WARD}")
    assert page.url == f"{live_server.url}/console/sign-in"


def test_staff_member_under_the_minimum_on_a_phone(
    live_server: LiveServer,
    office: Office,
    make_key: KeyFactory,
    open_page: Contexts,
    artifacts_dir: Path,
) -> None:
    seed_ward(office)
    page = open_page(phone=True)
    sign_in(page, live_server, raw_key(make_key("manager", WARD)))
    submit(page, lambda: page.get_by_role("link", name="Cán bộ", exact=True).tap())
    returning = page.locator('tr[data-staff="CB003"]')
    expect(returning.locator(".withheld")).to_have_text("Chưa đủ phiếu (3/5)")
    expect(page.locator('tr[data-staff="CB002"] td').nth(1)).to_have_text("0,8")
    assert_fits_phone(page, "staff")
    page.screenshot(path=artifacts_dir / "console-staff-phone.png", full_page=True)


# --- the closed loop -------------------------------------------------------------------------


def test_manager_answers_a_petition_and_the_citizens_verdict_moves_group5(
    live_server: LiveServer,
    office: Office,
    make_key: KeyFactory,
    open_page: Contexts,
    artifacts_dir: Path,
) -> None:
    office.handover("BT-1")
    office.handover("BT-2")
    office.answer_on_page("BT-2")
    now = time.time()
    office.petition(
        "PAKN-OVERDUE",
        received_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 40 * 86400)),
        deadline_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 3 * 86400)),
    )

    # The citizen, on a phone, complains in the survey and keeps the private link.
    citizen = open_page(phone=True)
    go(citizen, f"{live_server.url}/s/{office.tokens['BT-1']}")
    for field, value in ANSWERS.items():
        citizen.locator(f'label.choice:has(input[name="{field}"][value="{value}"])').tap()
    citizen.locator("#complaint").fill(COMPLAINT)
    citizen.locator('label:has(input[name="wants_reply"][value="yes"])').tap()
    submit(citizen, lambda: citizen.locator("button.submit").tap())
    link = citizen.locator("#followup-link")
    followup_url = link.get_attribute("href") or ""
    assert followup_url.startswith(f"{live_server.url}/p/")
    expect(link).to_have_text(followup_url)
    citizen.screenshot(path=artifacts_dir / "followup-thanks-link.png", full_page=True)
    submit(citizen, lambda: link.tap())
    expect(citizen.locator("#status-text")).to_contain_text("Cơ quan đang xem xét")
    expect(citizen.locator("input[name=verdict]")).to_have_count(0)
    citizen.screenshot(path=artifacts_dir / "followup-pending.png", full_page=True)

    # The manager, on a laptop: group 5 before, the inbox with the overdue one first.
    manager = open_page()
    sign_in(manager, live_server, raw_key(make_key("manager", WARD)))
    # b) HL-BT-1 is within its deadline: not scored yet. PAKN-OVERDUE, unhandled past its
    # deadline, counts as handled late if it was received this quarter: 0 %, else no rate.
    expect(manager.locator("#g5-b")).to_have_text(
        "0 %" if office.score()["counts"]["petitions"] == 2 else "—"
    )
    before = manager.locator("#g5-score").text_content()
    submit(manager, lambda: manager.get_by_role("link", name="Phản ánh", exact=True).click())
    codes = manager.locator("tr[data-petition]").evaluate_all(
        "rows => rows.map(r => r.dataset.petition)"
    )
    assert codes == ["PAKN-OVERDUE", "HL-BT-1"]
    expect(manager.locator('tr[data-petition="PAKN-OVERDUE"] .timing')).to_contain_text("Quá hạn")
    expect(manager.locator('tr[data-petition="HL-BT-1"] .timing')).to_have_text(
        "Còn 15 ngày làm việc"
    )
    manager.screenshot(path=artifacts_dir / "console-inbox.png", full_page=True)
    submit(manager, lambda: manager.get_by_role("link", name="HL-BT-1").click())
    expect(manager.locator("#complaint")).to_contain_text("Phải chờ hơn một tiếng ở quầy.")
    manager.get_by_label("Câu trả lời (người dân đọc được)").fill(REPLY)
    submit(manager, lambda: manager.get_by_role("button", name="Lưu câu trả lời").click())
    expect(manager.locator(".notice")).to_contain_text("Đã lưu câu trả lời")
    expect(manager.locator("#timing")).to_have_text("Đã trả lời đúng hạn")
    manager.screenshot(path=artifacts_dir / "console-petition-replied.png", full_page=True)
    stored = petition_row(live_server, "HL-BT-1")
    assert stored.handled_at is not None and stored.deadline_at is not None
    assert stored.handled_at <= stored.deadline_at

    # The citizen comes back, reads the reply, and is not satisfied.
    go(citizen, followup_url)
    expect(citizen.locator("#reply p")).to_have_text(REPLY.splitlines())
    expect(citizen.locator("#status-text")).to_contain_text("(đúng hạn)")
    citizen.locator('label.choice:has(input[value="unsatisfied"])').tap()
    citizen.screenshot(path=artifacts_dir / "followup-replied.png", full_page=True)
    submit(citizen, lambda: citizen.get_by_role("button", name="Gửi ý kiến").tap())
    expect(citizen.locator("#verdict-saved")).to_be_visible()
    expect(citizen.locator("#verdict strong")).to_have_text("Không hài lòng")
    citizen.screenshot(path=artifacts_dir / "followup-judged.png", full_page=True)

    # Group 5, this quarter: HL-BT-1 handled on time, judged unsatisfied (+ PAKN-OVERDUE,
    # late, if received this quarter). a) 1 ÷ n; b) 0 ÷ n = 0 %.
    score = office.score()
    n = score["counts"]["petitions"]
    assert score["group5"]["petitions_on_time_rate"] == 1 / n
    assert score["group5"]["petitions_satisfied_rate"] == 0
    go(manager, f"{live_server.url}/console/a/{WARD}")
    expect(manager.locator("#g5-b")).to_have_text("0 %")
    assert manager.locator("#g5-score").text_content() != before
    manager.screenshot(path=artifacts_dir / "console-agency-after-verdict.png", full_page=True)


# --- refusals --------------------------------------------------------------------------------


def test_forged_csrf_and_a_cross_site_form_change_nothing(
    live_server: LiveServer,
    office: Office,
    make_key: KeyFactory,
    open_page: Contexts,
    artifacts_dir: Path,
) -> None:
    seed_ward(office)
    target = petition_row(live_server, "HL-BT-1")
    manager = open_page()
    sign_in(manager, live_server, raw_key(make_key("manager", WARD)))
    go(manager, f"{live_server.url}/console/petitions/{target.id}")
    real_token = manager.locator('form[action$="/reply"] input[name=csrf]').input_value()
    manager.get_by_label("Câu trả lời (người dân đọc được)").fill("Trả lời giả")
    manager.locator('form[action$="/reply"] input[name=csrf]').evaluate("e => e.value = 'forged'")
    submit(manager, lambda: manager.get_by_role("button", name="Lưu câu trả lời").click(), 403)
    expect(manager.get_by_role("heading", level=1)).to_have_text("Biểu mẫu không hợp lệ")
    manager.screenshot(path=artifacts_dir / "console-csrf-refused.png", full_page=True)

    # Another site posts the form with the right token in the manager's browser: the
    # SameSite=Strict cookie stays home, so there is no session for the token to match.
    attacker = manager.context.new_page()
    form = (
        f'<form method="post" action="{live_server.url}/console/petitions/{target.id}/reply">'
        '<input name="reply" value="Trả lời giả">'
        '<input name="handled_at" value="2030-01-01T09:00">'
        f'<input name="csrf" value="{real_token}"><button>Go</button></form>'
    )
    attacker.route(
        "http://attacker.example/",
        lambda route: route.fulfill(body=form, content_type="text/html; charset=utf-8"),
    )
    go(attacker, "http://attacker.example/")
    submit(attacker, lambda: attacker.get_by_role("button", name="Go").click(), 403)
    unchanged = petition_row(live_server, "HL-BT-1")
    assert unchanged.reply is None and unchanged.handled_at is None

    # Still signed in at home; the other ward's petition is answered as missing.
    other = petition_row(live_server, "HL-SG-1")
    go(manager, f"{live_server.url}/console/petitions/{other.id}", status=404)
    go(manager, f"{live_server.url}/console/a/{WARD}/petitions")


# --- axe-core and a phone --------------------------------------------------------------------

AXE_RUN_JS = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.map(n => n.target.join(' ')),
    }));
}"""

FIT_JS = """() => {
    const root = document.scrollingElement;
    // Besides form controls: the header's links, a form's own links (clearing a filter),
    // the way out of an error page and links standing alone as actions (the report's
    // downloads: the Word one was 22 px tall, console audit) are tapped as often as buttons.
    const targets = '.tabs a, .top a, form a, [role=alert] a, a.action, a.button, button, '
        + 'select, input:not([type=hidden]), textarea';
    const small = [...document.querySelectorAll(targets)]
        .filter(el => el.getClientRects().length)
        .map(el => [el.textContent.trim() || el.name || el.id, el.getBoundingClientRect().height])
        .filter(([, h]) => h < 44);
    return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, small};
}"""


def assert_fits_phone(page: Page, name: str) -> None:
    layout: dict[str, Any] = page.evaluate(FIT_JS)
    assert layout["clientWidth"] == PHONE["width"], layout
    assert layout["scrollWidth"] <= layout["clientWidth"], f"{name} scrolls sideways: {layout}"
    assert layout["small"] == [], f"{name}: targets under 44 px: {layout['small']}"


def test_audit_log_and_an_error_page_fit_a_phone(
    live_server: LiveServer,
    office: Office,
    make_key: KeyFactory,
    open_page: Contexts,
    artifacts_dir: Path,
) -> None:
    """The audit log's filter form (text and date inputs, a button, a link to clear it) and
    the header's links, for an administrator on a phone; an error page's way back too."""
    seed_ward(office)
    page = open_page(phone=True)
    sign_in(page, live_server, raw_key(make_key("admin")))
    submit(page, lambda: page.get_by_role("link", name="Nhật ký thao tác").tap())
    expect(page.get_by_role("heading", level=1)).to_have_text("Nhật ký thao tác")
    expect(page.locator("#audit-records tbody tr").first).to_have_attribute(
        "data-record", re.compile(r"\d+")
    )
    assert_fits_phone(page, "audit")
    page.screenshot(path=artifacts_dir / "console-audit-phone.png", full_page=True)
    page.get_by_label("Người thực hiện").fill("test")
    submit(page, lambda: page.get_by_role("button", name="Lọc").tap())
    expect(page.locator("#f-actor")).to_have_value("test")
    submit(page, lambda: page.get_by_role("link", name="Bỏ lọc").tap())
    expect(page.locator("#f-actor")).to_have_value("")
    go(page, f"{live_server.url}/console/audit?since=2025-02-30", status=422)
    expect(page.locator("#since-problem")).to_have_text("Ngày không hợp lệ.")
    assert_fits_phone(page, "audit with a bad date")
    go(page, f"{live_server.url}/console/a/NOPE", status=404)
    expect(page.get_by_role("link", name="Về trang đầu")).to_be_visible()
    assert_fits_phone(page, "not found")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(content=AXE_JS)
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN_JS)
    return found


def test_axe_clean_and_phone_sized_across_console_and_followup_pages(
    live_server: LiveServer,
    office: Office,
    make_key: KeyFactory,
    open_page: Contexts,
    artifacts_dir: Path,
) -> None:
    followup = seed_ward(office)
    target = petition_row(live_server, "HL-BT-1")
    page = open_page(phone=True, bypass_csp=True)  # the injected axe needs the CSP bypassed
    found: dict[str, list[dict[str, Any]]] = {}
    base = live_server.url

    go(page, f"{base}/console/sign-in")
    found["sign-in"] = axe_violations(page)
    page.get_by_label("Khóa truy cập").fill("hl_wrong")
    submit(page, lambda: page.get_by_role("button", name="Đăng nhập").tap(), 401)
    found["sign-in refused"] = axe_violations(page)
    page.get_by_label("Khóa truy cập").fill(raw_key(make_key("manager", WARD)))
    submit(page, lambda: page.get_by_role("button", name="Đăng nhập").tap())
    pages = {
        "agency": f"/console/a/{WARD}",
        "staff": f"/console/a/{WARD}/staff",
        "dossiers": f"/console/a/{WARD}/dossiers",
        "complaints": f"/console/a/{WARD}/complaints",
        "inbox": f"/console/a/{WARD}/petitions",
        "petition": f"/console/petitions/{target.id}",
    }
    for name, path in pages.items():
        go(page, base + path)
        found[name] = axe_violations(page)
        assert_fits_phone(page, name)
        page.screenshot(path=artifacts_dir / f"console-{name}-phone.png", full_page=True)
    submit(page, lambda: page.get_by_role("button", name="Lưu câu trả lời").tap(), 422)
    found["petition with errors"] = axe_violations(page)
    go(page, f"{base}/console/a/{OTHER_WARD}", status=403)
    found["refused"] = axe_violations(page)
    go(page, f"{base}/console/lang/en?next=/console/a/{WARD}")
    expect(page.locator("#k-group")).to_have_text("Not enough data")
    found["agency in English"] = axe_violations(page)
    page.screenshot(path=artifacts_dir / "console-agency-english-phone.png", full_page=True)

    go(page, base + followup)
    found["follow-up pending"] = axe_violations(page)
    manager_page = page  # same browser: answer, then look as the citizen
    go(manager_page, f"{base}/console/petitions/{target.id}")
    manager_page.locator("#reply").fill(REPLY)
    submit(manager_page, lambda: manager_page.locator("button.primary").tap())
    go(page, base + followup)
    found["follow-up replied"] = axe_violations(page)
    submit(page, lambda: page.locator("button.submit").tap(), 422)
    found["follow-up no choice"] = axe_violations(page)
    page.locator('label.choice:has(input[value="satisfied"])').tap()
    submit(page, lambda: page.locator("button.submit").tap())
    found["follow-up judged"] = axe_violations(page)
    go(page, f"{base}/p/{'Z' * 43}", status=404)
    found["follow-up unknown"] = axe_violations(page)

    serious = [
        f"{name}: [{v['impact']}] {v['id']}: {v['help']} at {v['targets']}"
        for name, violations in found.items()
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, "axe-core found:\n" + "\n".join(serious)
