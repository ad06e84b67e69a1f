"""The kiosk for a citizen who reads slowly, uses a screen reader, or a keyboard: what an
accessibility audit (WCAG 2.1 AA) found on the tablet's screens, each as the user meets it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer, free_port, make_settings, serve
from tests.kiosk.conftest import ANSWERS, hand_over, tablet_context
from tests.kiosk.test_kiosk_browser import IDLE_VI, paired_page, ready

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]

# Long enough that the warning (20 s before the reset, or 5 s after the screen came with a
# shorter idle time) and a notice's stay can be told from the old five seconds.
IDLE = 24
WARNING = "Màn hình sẽ trở về trang đầu sau"

# WCAG's contrast ratio of two "rgb(r, g, b)" colours.
RATIO_JS = """([a, b]) => {
  const parse = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lin = (v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  };
  const lum = (c) => {
    const [r, g, b] = parse(c);
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const [x, y] = [lum(a), lum(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}"""


@pytest.fixture
def slow_idle(browser: Browser, database_url: str) -> Iterator[tuple[BrowserContext, httpx.Client]]:
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{free_port()}")
    live: LiveServer
    with serve(settings.model_copy(update={"kiosk_idle_seconds": IDLE})) as live:
        context = tablet_context(browser, live.url)
        try:
            with httpx.Client(base_url=live.url) as api:
                yield context, api
        finally:
            context.close()


def test_the_idle_reset_is_announced_and_more_time_can_be_asked(
    slow_idle: tuple[BrowserContext, httpx.Client], make_key: KeyFactory
) -> None:
    """The countdown sat in a footer that is not read out: a blind citizen whose screen
    reader's swipes reach the page as no touch lost the survey unwarned (WCAG 2.2.1). The
    warning is said once, in a polite live region, and "Thêm thời gian" gives the time back."""
    context, api = slow_idle
    page = paired_page(context, api, make_key)
    warning = page.locator("#idle-warning")
    assert warning.get_attribute("role") == "status"
    assert warning.get_attribute("aria-live") == "polite"
    hand_over(api, make_key, dossier_code="KIOSK-WARN")
    expect(page.get_by_text("KIOSK-WARN")).to_be_visible()
    expect(warning).to_have_text("")  # not at once: 24 s left
    expect(warning).to_contain_text(WARNING, timeout=10_000)
    expect(warning).to_contain_text("Thêm thời gian")
    said = warning.text_content()
    page.wait_for_timeout(1500)
    assert warning.text_content() == said  # said once, not counted down aloud
    seconds = re.search(r"(\d+) giây", page.locator("#countdown").text_content() or "")
    assert seconds and int(seconds.group(1)) <= 20
    page.get_by_role("button", name="Thêm thời gian").tap()
    expect(warning).to_have_text("")
    expect(page.locator("#countdown")).to_have_text(re.compile(r"sau (2[1-4]) giây"))
    expect(page.get_by_text("KIOSK-WARN")).to_be_visible()  # the survey stays


def typing_an_answered_code(
    context: BrowserContext, api: httpx.Client, make_key: KeyFactory, dossier_code: str
) -> Page:
    """A paired tablet on its code entry, holding the code of a survey answered by phone."""
    issued = hand_over(api, make_key, dossier_code=dossier_code, counter_code=None)
    answered = api.post(
        "/api/v1/responses",
        json={"short_code": issued["short_code"], "answers": ANSWERS, "source": "phone"},
    )
    assert answered.status_code == 201, answered.text
    page = paired_page(context, api, make_key)
    page.get_by_role("button", name="Nhập mã đánh giá").tap()
    page.get_by_label("Mã đánh giá hoặc mã hồ sơ in trên phiếu").fill(issued["short_code"])
    return page


def test_already_answered_stays_until_done_or_the_idle_reset(
    slow_idle: tuple[BrowserContext, httpx.Client], make_key: KeyFactory
) -> None:
    """ "Hồ sơ này đã được đánh giá" went after five seconds, with no button and no
    countdown: a slow reader never learnt why their code did nothing (WCAG 2.2.1)."""
    page = typing_an_answered_code(*slow_idle, make_key, "KIOSK-NOTICE")
    page.get_by_role("button", name="Tìm phiếu").tap()
    notice = page.get_by_role("heading", name="Hồ sơ này đã được đánh giá. Cảm ơn ông/bà!")
    expect(notice).to_be_visible()
    expect(page.locator("#countdown")).to_be_visible()  # on the idle clock, which says so
    page.wait_for_timeout(7000)
    expect(notice).to_be_visible()
    ready(page)
    page.get_by_role("button", name="Xong").tap()
    expect(page.get_by_role("heading", name=IDLE_VI)).to_be_visible()


def test_a_survey_handed_over_takes_the_place_of_a_notice(
    slow_idle: tuple[BrowserContext, httpx.Client], make_key: KeyFactory
) -> None:
    """A notice staying longer must not hold up the next citizen's survey: one handed over
    while it shows waits its few seconds (to be read), then comes."""
    context, api = slow_idle
    page = paired_page(context, api, make_key)
    page.get_by_role("button", name="Nhập mã đánh giá").tap()
    expired = hand_over(api, make_key, dossier_code="KIOSK-GONE", counter_code=None)
    revoke = api.post("/api/v1/handovers/KIOSK-GONE/revoke", headers=make_key("issuer"))
    assert revoke.status_code == 200, revoke.text
    page.get_by_label("Mã đánh giá hoặc mã hồ sơ in trên phiếu").fill(expired["short_code"])
    page.get_by_role("button", name="Tìm phiếu").tap()
    expect(
        page.get_by_role("heading", name="Phiếu đánh giá này không còn hiệu lực.")
    ).to_be_visible()
    notice = page.get_by_role("heading", name="Phiếu đánh giá này không còn hiệu lực.")
    hand_over(api, make_key, dossier_code="KIOSK-NEXT")
    expect(page.locator("#queue")).to_have_text("Phiếu đang chờ: 1")
    expect(notice).to_be_visible()  # not swept away at once
    expect(page.get_by_text("KIOSK-NEXT")).to_be_visible(timeout=15_000)  # not after 24 s


def test_a_survey_waiting_before_the_notice_comes_after_it(
    slow_idle: tuple[BrowserContext, httpx.Client], make_key: KeyFactory
) -> None:
    """Citizen A types a code (the field not empty: B's survey handed over meanwhile waits,
    "Phiếu đang chờ: 1"); A's code was answered already. B's survey, not new when the
    notice came, was held behind it for the whole idle time (review)."""
    page = typing_an_answered_code(*slow_idle, make_key, "KIOSK-DONE")
    hand_over(slow_idle[1], make_key, dossier_code="KIOSK-B")  # B, at this counter
    expect(page.locator("#queue")).to_have_text("Phiếu đang chờ: 1")
    page.get_by_role("button", name="Tìm phiếu").tap()
    expect(
        page.get_by_role("heading", name="Hồ sơ này đã được đánh giá. Cảm ơn ông/bà!")
    ).to_be_visible()
    expect(page.get_by_text("KIOSK-B")).to_be_visible(timeout=15_000)  # not after 24 s


def test_the_focus_ring_stands_out_from_the_page_and_the_header(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    """The amber ring was 1.9:1 on the page: a keyboard or switch user could not see which
    big answer had the focus (WCAG 1.4.11). Dark on the page, a white ring inside it on the
    blue header."""
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="KIOSK-RING")
    expect(page.get_by_text("Câu 1/4")).to_be_visible()
    ready(page)
    page.keyboard.press("Tab")  # from the question's heading to the first answer
    answer = page.get_by_role("button", name="Đúng hẹn")
    expect(answer).to_be_focused()
    ring = answer.evaluate("b => getComputedStyle(b).outlineColor")
    body = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert page.evaluate(RATIO_JS, [ring, body]) >= 3, (ring, body)
    header = page.evaluate("getComputedStyle(document.querySelector('.bar')).backgroundColor")
    switch = page.get_by_role("button", name="English")
    switch.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focused by the keyboard: :focus-visible
    expect(switch).to_be_focused()
    shadow = switch.evaluate("b => getComputedStyle(b).boxShadow")
    inner = re.match(r"rgba?\([^)]*\)", shadow)
    assert inner, shadow
    assert page.evaluate(RATIO_JS, [inner.group(0), header]) >= 3, (shadow, header)


def test_a_code_refused_after_enter_leaves_the_focus_in_its_field(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    """The "Tìm phiếu" button, disabled while the server was asked, lost the focus to the
    page: a keyboard user was sent to the top with the refusal (WCAG 2.4.3)."""
    page = paired_page(tablet, api, make_key)
    page.get_by_role("button", name="Nhập mã đánh giá").tap()
    field = page.get_by_label("Mã đánh giá hoặc mã hồ sơ in trên phiếu")
    field.fill("ZZZZ9999")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Tìm phiếu")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#code-error")).not_to_be_empty()
    expect(field).to_be_focused()


def test_names_stay_vietnamese_on_the_english_screens_and_pictograms_are_not_read(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    """In English, the agency's and procedure's names (Vietnamese data) were read with
    English rules (WCAG 3.1.2); the buttons' pictograms were read out before their words
    ("keyboard Enter the survey code")."""
    page = paired_page(tablet, api, make_key)
    enter = page.get_by_role("button", name="Nhập mã đánh giá", exact=True)
    expect(enter).to_be_visible()  # its name is its words alone: the ⌨️ is aria-hidden
    hand_over(api, make_key, dossier_code="KIOSK-LANG")
    expect(page.get_by_text("Câu 1/4")).to_be_visible()
    page.get_by_role("button", name="English").tap()
    expect(page.get_by_text("Question 1 of 4")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "en"
    for part in (".dossier .agency", ".dossier .procedure"):
        name = page.locator(part)
        expect(name).to_have_attribute("lang", "vi")


def test_each_screen_is_titled_by_its_heading(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    """Every screen was titled "Đánh giá sự hài lòng": a screen reader's title said nothing of
    where the citizen was (WCAG 2.4.2). The title names the screen, in its language."""
    page = paired_page(tablet, api, make_key)
    expect(page).to_have_title("Kính chào ông/bà · Đánh giá sự hài lòng")
    hand_over(api, make_key, dossier_code="KIOSK-TITLE")
    expect(page).to_have_title("Hồ sơ có được trả đúng hẹn không? · Đánh giá sự hài lòng")
    page.get_by_role("button", name="English").tap()
    expect(page).to_have_title(re.compile(r" · Satisfaction survey$"))
    assert page.title() != "Satisfaction survey"
