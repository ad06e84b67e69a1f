"""The citizen's survey page in headless Chromium: a phone answering with taps, a missing
answer, the English switch, JavaScript off, the keyboard alone, axe-core, a 360 px screen,
and what the page costs on 3G.

Screenshots land in artifacts/ (survey-*.png; the PostgreSQL run's in artifacts/postgresql/);
look at them after a change to the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import axe_playwright_python
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Response as PageResponse
from sqlmodel import select

from service.models import Petition, Response, ResponseContact, utcnow
from tests.conftest import KeyFactory, LiveServer, handover_body
from tests.hardening.test_database_restart import database_down
from tests.surveys.conftest import ANSWERS

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("agencies")]

AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
AGENCY = "UBND Phường Tân Định"
COMPLAINT = "Phải chờ hơi lâu ở quầy"
THANKS_VI = "Cảm ơn ông/bà đã đánh giá!"
THANKS_EN = "Thank you for your answers!"
ANSWERED_VI = "Phiếu này đã được đánh giá"
CHOOSE_VI = "Ông/bà vui lòng chọn một câu trả lời."
FIRST_QUESTION_EN = "Was your result ready on the promised date?"
TAPPED = {  # not the defaults of ANSWERS, so that a stored answer proves the tap
    "timeliness": "late",
    "supplement_requests": "once",
    "staff_attitude": "normal",
    "overall": "unsatisfied",
}
MAX_PAGE_BYTES = 60 * 1024
MIN_TAP_PX = 48
MIN_TEXT_PX = 16

PageFactory = Callable[..., Page]


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def phone(browser: Browser) -> Iterator[PageFactory]:
    """phone(**context options) -> a page on a 390×844 touch phone in Vietnamese, closed after."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> Page:
        settings: dict[str, Any] = {
            "viewport": PHONE,
            "device_scale_factor": 2,
            "is_mobile": True,
            "has_touch": True,
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
def survey_url(live_server: LiveServer, make_key: KeyFactory) -> str:
    """A fresh handover issued through the API: the citizen's link."""
    response = httpx.post(
        f"{live_server.url}/api/v1/handovers", json=handover_body(), headers=make_key("issuer")
    )
    assert response.status_code == 201, response.text
    url: str = response.json()["survey_url"]
    assert url.startswith(f"{live_server.url}/s/")
    return url


def open_page(page: Page, url: str, status: int = 200) -> PageResponse:
    response = page.goto(url, wait_until="load")
    assert response is not None
    assert response.status == status, response.text()
    return response


def choice(page: Page, field: str, value: str) -> Locator:
    """The label (the big tap target) of one answer."""
    return page.locator(f'label.choice:has(input[name="{field}"][value="{value}"])')


def radio(page: Page, field: str, value: str) -> Locator:
    return page.locator(f'input[type=radio][name="{field}"][value="{value}"]')


def checked(page: Page) -> dict[str, str]:
    """The questions' chosen answers (not the comment's "wants an answer?", which starts on
    "no": see test_a_comment_or_a_petition_is_the_citizens_plain_choice)."""
    found: dict[str, str] = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('input[type=radio]:checked')]
                .filter(r => r.name !== 'wants_reply').map(r => [r.name, r.value]))"""
    )
    return found


def send(page: Page, act: Callable[[], None], status: int) -> PageResponse:
    """Do `act` (a tap, a click, a key) and wait for the page it posts to."""
    with page.expect_navigation(wait_until="load") as navigation:
        act()
    response = navigation.value
    assert response is not None
    assert response.status == status, response.text()
    return response


def heading(page: Page) -> str:
    return (page.locator("h1").text_content() or "").strip()


def stored(live_server: LiveServer) -> list[Response]:
    with live_server.session() as session:
        return list(session.exec(select(Response)).all())


def petitions(live_server: LiveServer) -> int:
    with live_server.session() as session:
        return len(session.exec(select(Petition)).all())


# --- a citizen on a phone --------------------------------------------------------------------


def test_phone_answers_by_taps_sees_thanks_then_already_answered(
    live_server: LiveServer, survey_url: str, phone: PageFactory, artifacts_dir: Path
) -> None:
    page = phone()
    open_page(page, survey_url)
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator(".agency").text_content() == AGENCY
    expect(page.get_by_role("heading", level=1)).to_have_text("Đánh giá sự hài lòng")
    assert checked(page) == {}
    for field, value in TAPPED.items():
        choice(page, field, value).tap()
        expect(radio(page, field, value)).to_be_checked()
    assert checked(page) == TAPPED
    page.locator("#complaint").tap()
    page.keyboard.type(COMPLAINT)
    expect(page.locator("#complaint")).to_have_value(COMPLAINT)
    # The citizen wants an answer: a petition, with a deadline.
    page.locator('label:has(input[name="wants_reply"][value="yes"])').tap()
    expect(page.locator('input[name="wants_reply"][value="yes"]')).to_be_checked()
    page.screenshot(path=artifacts_dir / "survey-form.png", full_page=True)

    send(page, lambda: page.locator("button.submit").tap(), 200)
    assert heading(page) == THANKS_VI
    petition = page.locator(".petition").text_content() or ""
    assert AGENCY in petition and "Hạn trả lời" in petition
    page.screenshot(path=artifacts_dir / "survey-thanks.png", full_page=True)
    [response] = stored(live_server)
    assert {f: getattr(response, f) for f in TAPPED} == TAPPED
    assert response.complaint == COMPLAINT and response.source == "phone"
    assert petitions(live_server) == 1

    open_page(page, survey_url, status=409)
    assert heading(page) == ANSWERED_VI
    assert page.locator("form, input[type=radio]").count() == 0
    page.screenshot(path=artifacts_dir / "survey-answered.png", full_page=True)
    assert len(stored(live_server)) == 1


def test_a_comment_or_a_petition_is_the_citizens_plain_choice(
    live_server: LiveServer, survey_url: str, phone: PageFactory, artifacts_dir: Path
) -> None:
    """A thank-you note is a comment (the default): no deadline promised, no link to keep."""
    page = phone()
    open_page(page, survey_url)
    expect(page.get_by_role("group", name="Ông/bà muốn")).to_be_visible()
    expect(page.get_by_label("Chỉ góp ý, không cần trả lời")).to_be_checked()
    for field, value in TAPPED.items():
        choice(page, field, value).tap()
    page.locator("#complaint").fill("Cảm ơn cán bộ rất nhiều!")
    send(page, lambda: page.locator("button.submit").tap(), 200)
    assert heading(page) == THANKS_VI
    expect(page.locator(".comment")).to_contain_text(AGENCY)
    assert page.locator(".petition, #followup-link").count() == 0
    page.screenshot(path=artifacts_dir / "survey-thanks-comment.png", full_page=True)


def test_missing_answer_is_shown_next_to_its_question_and_keeps_the_others(
    live_server: LiveServer, survey_url: str, phone: PageFactory, artifacts_dir: Path
) -> None:
    page = phone()
    open_page(page, survey_url)
    partial = {f: v for f, v in TAPPED.items() if f != "staff_attitude"}
    for field, value in partial.items():
        choice(page, field, value).tap()
    page.locator("#complaint").fill(COMPLAINT)
    send(page, lambda: page.locator("button.submit").tap(), 422)

    expect(page.locator(".alert[role=alert]")).to_be_visible()
    missing = page.locator("fieldset#q-staff_attitude")
    assert missing.get_attribute("aria-describedby") == "err-staff_attitude"
    expect(missing.locator("#err-staff_attitude")).to_have_text(CHOOSE_VI)
    expect(missing).to_have_accessible_description(CHOOSE_VI)
    expect(missing).to_have_class("question has-error")
    expect(missing.locator("input[type=radio]").first).to_have_attribute("aria-invalid", "true")
    for field in partial:
        other = page.locator(f"fieldset#q-{field}")
        assert other.get_attribute("aria-describedby") is None, field
        expect(other.locator(".error")).to_have_count(0)
        expect(other.locator("[aria-invalid]")).to_have_count(0)
    assert checked(page) == partial
    expect(page.locator("#complaint")).to_have_value(COMPLAINT)
    assert stored(live_server) == []
    page.screenshot(path=artifacts_dir / "survey-missing.png", full_page=True)
    jump = page.locator(".alert a")
    expect(jump).to_have_count(1)
    expect(jump).to_have_attribute("href", "#q-staff_attitude")
    jump.tap()
    expect(missing).to_be_in_viewport()

    choice(page, "staff_attitude", "poor").tap()
    send(page, lambda: page.locator("button.submit").tap(), 200)
    assert heading(page) == THANKS_VI
    [response] = stored(live_server)
    assert response.staff_attitude == "poor" and response.overall == "unsatisfied"
    assert response.complaint == COMPLAINT


def test_english_switch_asks_and_thanks_in_english(
    live_server: LiveServer, survey_url: str, phone: PageFactory, artifacts_dir: Path
) -> None:
    page = phone()
    open_page(page, survey_url)
    switch = page.get_by_role("link", name="English")
    assert switch.get_attribute("hreflang") == "en"
    send(page, lambda: switch.tap(), 200)
    assert page.url == f"{survey_url}?lang=en"
    assert page.locator("html").get_attribute("lang") == "en"
    assert FIRST_QUESTION_EN in (page.locator("#q-timeliness legend").text_content() or "")
    expect(choice(page, "overall", "very_satisfied")).to_contain_text("Very satisfied")
    expect(page.locator("button.submit")).to_have_text("Send")
    expect(page.get_by_role("link", name="Tiếng Việt")).to_have_attribute("lang", "vi")
    page.screenshot(path=artifacts_dir / "survey-english.png", full_page=True)

    for field, value in ANSWERS.items():
        choice(page, field, value).tap()
    send(page, lambda: page.locator("button.submit").tap(), 200)
    assert page.locator("html").get_attribute("lang") == "en"
    assert heading(page) == THANKS_EN
    page.screenshot(path=artifacts_dir / "survey-english-thanks.png", full_page=True)
    assert len(stored(live_server)) == 1


def test_whole_flow_works_with_javascript_disabled(
    live_server: LiveServer, survey_url: str, phone: PageFactory
) -> None:
    page = phone(java_script_enabled=False)
    open_page(page, survey_url)
    send(page, lambda: page.get_by_role("link", name="English").tap(), 200)
    assert page.locator("html").get_attribute("lang") == "en"
    send(page, lambda: page.get_by_role("link", name="Tiếng Việt").tap(), 200)
    assert page.locator("html").get_attribute("lang") == "vi"

    choice(page, "timeliness", "on_time").tap()
    send(page, lambda: page.locator("button.submit").tap(), 422)
    expect(page.locator("#err-supplement_requests")).to_have_text(CHOOSE_VI)
    expect(radio(page, "timeliness", "on_time")).to_be_checked()
    # The summary of what to fix has the focus, without JavaScript: read out at once, and
    # its links to the fields are the next Tab (audit: the focus stayed on the page).
    expect(page.locator("#errors")).to_be_focused()
    for field, value in ANSWERS.items():
        choice(page, field, value).tap()
    page.locator("#complaint").fill(COMPLAINT)
    send(page, lambda: page.locator("button.submit").tap(), 200)
    assert heading(page) == THANKS_VI
    open_page(page, survey_url, status=409)
    assert heading(page) == ANSWERED_VI
    [response] = stored(live_server)
    assert {f: getattr(response, f) for f in ANSWERS} == ANSWERS
    assert petitions(live_server) == 1


# --- the keyboard alone ----------------------------------------------------------------------

FOCUS_JS = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {
        tag: el.tagName.toLowerCase(), type: el.type || '', name: el.name || '',
        value: el.value || '', text: (el.textContent || '').trim().slice(0, 40),
        outline: style.outlineStyle, width: parseFloat(style.outlineWidth) || 0,
    };
}"""


def tab_to(page: Page, selector: str, seen: list[dict[str, Any]], limit: int = 15) -> None:
    """Press Tab until `selector` has the focus; every stop on the way must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus: dict[str, Any] = page.evaluate(FOCUS_JS)
        seen.append(focus)
        assert focus["tag"] != "body", f"focus fell off the page after {seen}"
        assert focus["outline"] != "none" and focus["width"] > 0, f"focus not visible: {focus}"
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached with Tab: {seen}")


def test_keyboard_only_answers_and_submits_with_visible_focus(
    live_server: LiveServer, survey_url: str, phone: PageFactory, artifacts_dir: Path
) -> None:
    page = phone(is_mobile=False, has_touch=False, device_scale_factor=1)
    open_page(page, survey_url)
    seen: list[dict[str, Any]] = []

    tab_to(page, 'input[name="timeliness"]', seen)
    assert seen[-1]["value"] == "on_time", "Tab should land on the first answer"
    page.keyboard.press("Space")
    tab_to(page, 'input[name="supplement_requests"]', seen)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    tab_to(page, 'input[name="staff_attitude"]', seen)
    page.keyboard.press("Space")
    tab_to(page, 'input[name="overall"]', seen)
    page.keyboard.press("ArrowDown")
    page.screenshot(path=artifacts_dir / "survey-keyboard.png")
    assert checked(page) == {
        "timeliness": "on_time",
        "supplement_requests": "once",
        "staff_attitude": "good",
        "overall": "satisfied",
    }
    tab_to(page, "#complaint", seen)
    page.keyboard.type(COMPLAINT)
    tab_to(page, "button.submit", seen)
    assert not [f for f in seen if f["name"] == "website"], "the honeypot took the focus"
    send(page, lambda: page.keyboard.press("Enter"), 200)
    assert heading(page) == THANKS_VI
    [response] = stored(live_server)
    assert (response.supplement_requests, response.overall) == ("once", "satisfied")
    assert response.complaint == COMPLAINT


# --- axe-core --------------------------------------------------------------------------------

AXE_RUN_JS = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.map(n => n.target.join(' ')),
    }));
}"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(content=AXE_JS)
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN_JS)
    return found


def test_axe_finds_no_serious_or_critical_violations(
    live_server: LiveServer, survey_url: str, phone: PageFactory
) -> None:
    # The pages allow only script-src 'self': the injected axe needs the CSP bypassed.
    page = phone(bypass_csp=True)
    found: dict[str, list[dict[str, Any]]] = {}

    open_page(page, survey_url)
    found["form"] = axe_violations(page)
    choice(page, "timeliness", "on_time").tap()
    send(page, lambda: page.locator("button.submit").tap(), 422)
    found["form with errors"] = axe_violations(page)
    open_page(page, f"{survey_url}?lang=en")
    found["English form"] = axe_violations(page)
    open_page(page, survey_url)
    for field, value in ANSWERS.items():
        choice(page, field, value).tap()
    page.locator("#complaint").fill(COMPLAINT)
    send(page, lambda: page.locator("button.submit").tap(), 200)
    found["thanks"] = axe_violations(page)
    open_page(page, survey_url, status=409)
    found["answered"] = axe_violations(page)
    open_page(page, f"{live_server.url}/s/{'A' * 43}", status=404)
    found["unknown link"] = axe_violations(page)

    serious = {
        name: [v for v in violations if v["impact"] in ("serious", "critical")]
        for name, violations in found.items()
    }
    report = "\n".join(
        f"{name}: [{v['impact']}] {v['id']}: {v['help']} at {v['targets']}"
        for name, violations in serious.items()
        for v in violations
    )
    assert not report, "axe-core found:\n" + report


# --- a 360 px phone --------------------------------------------------------------------------

LAYOUT_JS = """minText => {
    const root = document.scrollingElement;
    const px = el => parseFloat(getComputedStyle(el).fontSize);
    const small = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!node.textContent.trim() || el.closest('.hp, .footnote')) continue;
        if (!el.getClientRects().length) continue;
        if (px(el) < minText) small.push(`${el.className || el.tagName}: ${px(el)}px`);
    }
    const questions = [...document.querySelectorAll('fieldset.question')].map(fs =>
        [...fs.querySelectorAll('label.choice')].map(l => {
            const b = l.getBoundingClientRect();
            return {left: b.left, top: b.top, bottom: b.bottom, width: b.width, height: b.height};
        }));
    const box = el => el ? el.getBoundingClientRect().toJSON() : null;
    return {
        scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
        bodyFont: px(document.body), small, questions,
        submit: box(document.querySelector('button.submit')),
        langs: box(document.querySelector('.langs a')),
    };
}"""


def check_small_screen(page: Page, name: str) -> None:
    layout: dict[str, Any] = page.evaluate(LAYOUT_JS, MIN_TEXT_PX)
    width = layout["clientWidth"]
    assert width == SMALL_PHONE["width"], layout
    assert layout["scrollWidth"] <= width, f"{name} scrolls sideways: {layout['scrollWidth']}px"
    assert layout["bodyFont"] >= MIN_TEXT_PX, layout["bodyFont"]
    assert layout["small"] == [], f"{name}: text under {MIN_TEXT_PX}px: {layout['small']}"
    assert len(layout["questions"]) == len(ANSWERS)
    for labels in layout["questions"]:
        assert len(labels) >= 2
        for above, below in pairwise(labels):
            assert abs(above["left"] - below["left"]) < 1, f"{name}: answers side by side"
            assert below["top"] >= above["bottom"], f"{name}: answers overlap"
        for label in labels:
            assert label["height"] >= MIN_TAP_PX, f"{name}: answer {label['height']}px tall"
            assert label["width"] >= 0.8 * width, f"{name}: answer {label['width']}px wide"
    assert layout["submit"]["height"] >= MIN_TAP_PX and layout["submit"]["width"] >= 0.8 * width
    assert layout["langs"]["height"] >= 44, layout["langs"]


def test_readable_at_360_px_one_column_big_answers_no_sideways_scroll(
    survey_url: str, phone: PageFactory, artifacts_dir: Path
) -> None:
    page = phone(viewport=SMALL_PHONE)
    open_page(page, survey_url)
    check_small_screen(page, "form")
    page.screenshot(path=artifacts_dir / "survey-360.png", full_page=True)
    open_page(page, f"{survey_url}?lang=en")
    check_small_screen(page, "English form")
    choice(page, "overall", "satisfied").tap()
    page.locator("#complaint").fill("x" * 300)
    send(page, lambda: page.locator("button.submit").tap(), 422)
    check_small_screen(page, "English form with errors")


# --- weight and third parties ----------------------------------------------------------------


def record(page: Page) -> tuple[list[str], list[PageResponse]]:
    requests: list[str] = []
    responses: list[PageResponse] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("response", lambda response: responses.append(response))
    return requests, responses


def weigh(responses: list[PageResponse]) -> tuple[int, list[str]]:
    """Bytes of every body (a redirect has none) and a line per response for the report."""
    total, lines = 0, []
    for response in responses:
        size = 0 if response.request.redirected_to else len(response.body())
        total += size
        lines.append(f"{response.status} {response.request.resource_type} {response.url} {size}")
    return total, lines


def test_page_weight_under_60_kb_and_no_third_party_requests(
    live_server: LiveServer, survey_url: str, phone: PageFactory
) -> None:
    page = phone()
    requests, responses = record(page)
    open_page(page, survey_url)
    page.wait_for_load_state("networkidle")
    form_bytes, loaded = weigh(responses)
    kinds = {r.request.resource_type for r in responses}
    assert form_bytes < MAX_PAGE_BYTES, f"the form weighs {form_bytes} bytes: {loaded}"
    assert kinds <= {"document", "stylesheet"}, f"no scripts, fonts or images: {loaded}"

    responses.clear()
    for field, value in ANSWERS.items():
        choice(page, field, value).tap()
    send(page, lambda: page.locator("button.submit").tap(), 200)
    page.wait_for_load_state("networkidle")
    thanks_bytes, loaded = weigh(responses)
    assert thanks_bytes < MAX_PAGE_BYTES, f"the thank-you page weighs {thanks_bytes}: {loaded}"

    assert requests, "nothing was recorded"
    foreign = [url for url in requests if not url.startswith(f"{live_server.url}/")]
    assert foreign == [], f"third-party requests: {foreign}"


TINY_PHONE = {"width": 320, "height": 640}


def height(target: Locator) -> float:
    box = target.bounding_box()
    assert box is not None
    return box["height"]


LONG_LINK = (
    "Xem https://dichvucong.hochiminhcity.gov.vn/vi/portal/thutuc/chitiet?maThuTuc=1.001612"
    "&donVi=G22.39&trangThai=cho-xu-ly"
)


def test_the_pages_around_the_form_fit_a_320_px_phone_and_a_thumb(
    phone: PageFactory, survey_url: str, live_server: LiveServer
) -> None:
    """Audit, at 320 px with JavaScript off: the error summary's links were 37 px tall, a
    pasted link ran the follow-up page 546 px wide, and a sent-again form (a reply lost on
    3G) or the QR scanned again ended on a page with no way back to the follow-up link."""
    page = phone(viewport=TINY_PHONE, java_script_enabled=False)
    open_page(page, survey_url)
    send(page, lambda: page.get_by_role("button", name="Gửi đánh giá").click(), 422)
    links = page.locator(".alert a")
    assert links.count() == 4  # every required question, named in the summary
    heights = [height(links.nth(n)) for n in range(4)]
    assert min(heights) >= 44, heights
    for field, value in ANSWERS.items():
        choice(page, field, value).click()
    page.fill("#complaint", LONG_LINK)
    page.locator('input[name="wants_reply"][value="yes"]').check()
    send(page, lambda: page.get_by_role("button", name="Gửi đánh giá").click(), 200)
    thanks_url = page.url
    followup = page.locator("#followup-link").get_attribute("href")
    assert followup is not None
    open_page(page, followup)
    widths = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1], widths
    # The QR scanned again: the answered page leads back to the thank-you page and its link.
    open_page(page, survey_url, 409)
    back = page.get_by_role("link", name="Xem lại trang cảm ơn và góp ý, phản ánh đã gửi")
    assert height(back) >= 44
    with page.expect_navigation(wait_until="load"):
        back.click()
    assert page.url == thanks_url
    assert page.locator("#followup-link").get_attribute("href") == followup


def replied_followup(page: Page, survey_url: str, live_server: LiveServer) -> str:
    """Answers the survey with a complaint that asks for a reply, replies to it as the
    office would, and returns the follow-up page's address (where the verdict is asked)."""
    open_page(page, survey_url)
    for field, value in ANSWERS.items():
        choice(page, field, value).click()
    page.fill("#complaint", COMPLAINT)
    page.locator('input[name="wants_reply"][value="yes"]').check()
    send(page, lambda: page.locator("button.submit").click(), 200)
    followup = page.locator("#followup-link").get_attribute("href")
    assert followup is not None
    with live_server.session() as session:
        petition = session.exec(select(Petition)).one()
        petition.handled_at, petition.reply = utcnow(), "Đã bố trí thêm quầy."
        session.add(petition)
    return followup


def test_a_verdict_sent_without_a_choice_is_announced_and_focused(
    phone: PageFactory, survey_url: str, live_server: LiveServer
) -> None:
    """The follow-up page refused an empty verdict with no alert and the focus left on the
    page (audit): the refusal is an alert, and has the focus, without JavaScript."""
    page = phone(java_script_enabled=False)
    open_page(page, replied_followup(page, survey_url, live_server))
    send(page, lambda: page.locator("button.submit").click(), 422)
    refusal = page.locator("#err-verdict")
    expect(refusal).to_have_attribute("role", "alert")
    expect(refusal).to_be_focused()
    expect(page.locator('input[name="verdict"][aria-invalid="true"]')).to_have_count(2)


def test_the_opt_out_button_is_a_thumb_sized_target(
    phone: PageFactory, live_server: LiveServer
) -> None:
    """Its `primary` class is the console's and the kiosk's: on the survey's stylesheet the
    button was the browser's bare 113×24 px (audit)."""
    from service.messaging.contacts import opt_out_token

    token = opt_out_token(live_server.settings.signing_key(), "sms", "0901234567")
    page = phone(viewport=TINY_PHONE, java_script_enabled=False)
    open_page(page, f"{live_server.url}/u/{token}")
    box = page.get_by_role("button", name="Từ chối nhận tin").bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 200, box


def test_back_after_a_fixed_form_shows_the_form_not_a_browser_error(
    phone: PageFactory, survey_url: str, live_server: LiveServer
) -> None:
    """The form refused (a 422, a POST result) was no-store: once fixed and sent, the back
    button from the thank-you page met no cached copy, and Chrome showed its own error page
    (net::ERR_CACHE_MISS, "Confirm form resubmission"). A form sent again from there meets
    the survey answered, and its way back to the thank-you page (audit)."""
    page = phone(viewport=SMALL_PHONE)
    open_page(page, survey_url)
    refused = send(page, lambda: page.locator("button.submit").click(), 422)  # nothing chosen
    assert refused.headers["cache-control"] == "private, no-cache"
    for field, value in ANSWERS.items():
        radio(page, field, value).check()
    send(page, lambda: page.locator("button.submit").click(), 200)
    thanks_url = page.url
    assert thanks_url.endswith("/thanks?lang=vi")
    try:
        back, problem = page.go_back(wait_until="load"), None
    except PlaywrightError as exc:  # Chrome's own error page
        back, problem = None, str(exc).splitlines()[0]
    assert problem is None, problem
    assert back is not None and page.url == survey_url
    assert page.locator("button.submit").count() == 1  # the form, as it was refused
    send(page, lambda: page.locator("button.submit").click(), 409)
    assert heading(page) == ANSWERED_VI
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Xem lại trang cảm ơn", exact=True).click()
    assert page.url == thanks_url
    assert len(stored(live_server)) == 1


def test_the_send_again_button_is_a_thumb_sized_target(
    live_server: LiveServer, make_key: KeyFactory, phone: PageFactory
) -> None:
    """The page a form meets when the database cannot be reached (a 503, or a race lost
    twice: a 409) keeps the answers in a "Gửi lại" form, whose button had no class: on the
    survey's stylesheet the browser's bare 55×24 px button (audit)."""
    response = httpx.post(
        f"{live_server.url}/api/v1/handovers", json=handover_body(), headers=make_key("issuer")
    )
    assert response.status_code == 201, response.text
    page = phone(viewport=SMALL_PHONE)
    open_page(page, response.json()["survey_url"])
    for field, value in ANSWERS.items():
        radio(page, field, value).check()
    with database_down(live_server.app.state.engine):
        send(page, lambda: page.locator("button.submit").click(), 503)
    box = page.get_by_role("button", name="Gửi lại").bounding_box()
    assert box is not None
    assert box["height"] >= MIN_TAP_PX and box["width"] >= 200, box


@pytest.mark.parametrize("mangle", ["{url}/x", "{url_upper}"], ids=["extra-segment", "capital-S"])
def test_a_mangled_survey_link_fits_a_360_px_phone_and_does_not_repeat_the_token(
    live_server: LiveServer, make_key: KeyFactory, phone: PageFactory, mangle: str
) -> None:
    """A survey link with something after the token (a stray character a messaging app or
    a retyped slip link added, or /S/ for /s/) reaches no route: the generic 404 page said
    "Nothing is served at /s/<43-character token>/x", one unbreakable word, and the page
    scrolled sideways on a 360 px phone (audit)."""
    issuer = make_key("issuer")
    for n in range(40):  # a token with no hyphen: no break opportunity inside it
        response = httpx.post(
            f"{live_server.url}/api/v1/handovers",
            json=handover_body(dossier_code=f"G22.39-250915-{n:04d}"),
            headers=issuer,
        )
        assert response.status_code == 201, response.text
        url = response.json()["survey_url"]
        if "-" not in url.rsplit("/", 1)[1]:
            break
    page = phone(viewport=SMALL_PHONE)
    open_page(page, mangle.format(url=url, url_upper=url.replace("/s/", "/S/")), 404)
    assert heading(page) == "Không tìm thấy"
    # The layout's width, not innerWidth: a phone zooms out to show a page too wide.
    widths = page.evaluate(
        "[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
    )
    assert widths[1] == SMALL_PHONE["width"], widths
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    assert url.rsplit("/", 1)[1] not in page.locator("body").inner_text()


CONSENT_VI = "Tôi đồng ý để cơ quan lưu thông tin này và liên hệ lại với tôi."
NO_CONSENT_VI = "Ông/bà vui lòng đánh dấu đồng ý để lưu thông tin liên hệ, hoặc để trống."


def test_a_contact_sent_without_consent_marks_the_consent_box_and_leads_to_it(
    live_server: LiveServer, survey_url: str, phone: PageFactory, artifacts_dir: Path
) -> None:
    """(audit) A phone number typed without ticking the consent box was refused with its
    message, but the box was not marked as the other fields are: not invalid, not described
    by the message, and the summary's link led to the number (which was fine), not to the
    box to tick. The number itself is not marked wrong."""
    page = phone()
    open_page(page, survey_url)
    for field, value in ANSWERS.items():
        choice(page, field, value).tap()
    page.locator("#contact").fill("0901 234 567")
    send(page, lambda: page.locator("button.submit").tap(), 422)

    expect(page.locator("#errors")).to_be_focused()
    box = page.get_by_role("checkbox", name=CONSENT_VI)
    expect(box).not_to_be_checked()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description(NO_CONSENT_VI)
    contact = page.locator("#contact")
    expect(contact).to_have_value("0901 234 567")
    expect(contact).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("[aria-invalid=true]")).to_have_count(1)
    page.screenshot(path=artifacts_dir / "survey-no-consent.png", full_page=True)
    jump = page.locator(".alert a")
    expect(jump).to_have_count(1)
    jump.tap()
    expect(box).to_be_focused()

    page.keyboard.press("Space")
    expect(box).to_be_checked()
    send(page, lambda: page.locator("button.submit").tap(), 200)
    assert heading(page) == THANKS_VI
    with live_server.session() as session:
        [kept] = session.exec(select(ResponseContact)).all()
    assert kept.contact == "0901 234 567"


LANG_OF_JS = "el => el.closest('[lang]').getAttribute('lang')"


def test_the_english_pages_mark_the_vietnamese_names_they_show(
    live_server: LiveServer, survey_url: str, phone: PageFactory
) -> None:
    """(audit) The English form and thank-you page showed the agency's and the procedure's
    names (data, never translated) inside lang="en": a screen reader read "UBND Phường Tân
    Định" with English rules. They are marked Vietnamese; the page around them stays English."""
    page = phone()
    open_page(page, f"{survey_url}?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    for name, text in ((".agency", AGENCY), (".procedure", "Đăng ký khai sinh")):
        shown = page.locator(name)
        expect(shown).to_have_text(text)
        assert shown.evaluate(LANG_OF_JS) == "vi", name
    assert page.locator(".intro").evaluate(LANG_OF_JS) == "en"
    assert page.locator("#q-timeliness legend").evaluate(LANG_OF_JS) == "en"

    for field, value in ANSWERS.items():
        choice(page, field, value).tap()
    page.locator("#complaint").fill(COMPLAINT)
    page.locator('input[name="wants_reply"][value="yes"]').check()
    send(page, lambda: page.locator("button.submit").tap(), 200)
    assert heading(page) == THANKS_EN
    agency = page.locator(".petition strong", has_text=AGENCY)
    expect(agency).to_have_count(1)
    assert agency.evaluate(LANG_OF_JS) == "vi"
    assert page.locator(".petition").evaluate(LANG_OF_JS) == "en"
