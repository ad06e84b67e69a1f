"""The kiosk's idle reset on the screens where a citizen looks for a survey (code entry,
camera), in headless Chromium on the 800×1280 tablet. DESIGN: "the survey of the dossier just
handed over appears by itself, the screen resets when the citizen walks away".

An audit found the idle countdown ran only on the survey screens: a short code typed and
left on the code entry screen stayed there for the next citizen (who could then answer the
first one's survey), and a survey handed over while the code entry screen was open waited
behind it ("Phiếu đang chờ: 1") until someone tapped "Back".
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, Playwright, expect

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer
from tests.kiosk.conftest import IDLE_SECONDS, hand_over, tablet_context
from tests.kiosk.test_kiosk_browser import IDLE_VI, paired_page, responses

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]
ENTER_CODE_VI = "Nhập mã đánh giá"
CODE_LABEL_VI = "Mã đánh giá hoặc mã hồ sơ in trên phiếu"
COUNTDOWN_VI = "Màn hình tự trở về sau"
RESET_MS = IDLE_SECONDS * 1000 + 3000  # the idle reset, with room for a busy machine
BEFORE_RESET_MS = (IDLE_SECONDS - 2) * 1000  # sooner than any idle reset could come


def test_a_code_typed_and_left_on_screen_is_cleared_by_the_idle_reset(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory, kiosk_server: LiveServer
) -> None:
    page = paired_page(tablet, api, make_key)
    # A slip from another counter: only its code brings it to this tablet.
    issued = hand_over(api, make_key, dossier_code="KIOSK-LEFT", counter_code=None)
    page.get_by_role("button", name=ENTER_CODE_VI).tap()
    page.get_by_role("button", name="English").tap()
    page.get_by_label("Survey code or dossier code printed on your slip").fill(issued["short_code"])
    # The citizen walks away without tapping "Find": the countdown runs here too...
    expect(page.locator("#countdown")).to_contain_text("This screen resets in")
    # ...and the idle screen comes back, in Vietnamese, the code gone with the old screen.
    expect(page.get_by_role("heading", name=IDLE_VI)).to_be_visible(timeout=RESET_MS)
    expect(page.locator("#survey-code")).to_have_count(0)
    expect(page.locator("#countdown")).to_have_count(0)
    expect(page.get_by_text("KIOSK-LEFT")).to_have_count(0)

    # The next citizen finds an empty box.
    page.get_by_role("button", name=ENTER_CODE_VI).tap()
    expect(page.get_by_label(CODE_LABEL_VI)).to_have_value("")
    expect(page.locator("#countdown")).to_contain_text(COUNTDOWN_VI)
    assert responses(kiosk_server) == []


def test_a_survey_handed_over_while_the_empty_code_screen_is_open_appears_by_itself(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    page = paired_page(tablet, api, make_key)
    page.get_by_role("button", name=ENTER_CODE_VI).tap()
    expect(page.get_by_label(CODE_LABEL_VI)).to_have_value("")
    hand_over(api, make_key, dossier_code="KIOSK-NEXT")
    # By itself, and before any idle reset could have brought it.
    expect(page.get_by_text("KIOSK-NEXT")).to_be_visible(timeout=BEFORE_RESET_MS)
    expect(page.get_by_text("Câu 1/4")).to_be_visible()
    expect(page.locator("#survey-code")).to_have_count(0)
    expect(page.locator("#queue")).to_be_hidden()


def test_a_citizen_typing_a_code_keeps_the_screen_and_the_arrival_waits(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    page = paired_page(tablet, api, make_key)
    page.get_by_role("button", name=ENTER_CODE_VI).tap()
    field = page.get_by_label(CODE_LABEL_VI)
    field.fill("AB12")
    hand_over(api, make_key, dossier_code="KIOSK-WAIT")
    # The clerk sees it waiting; the citizen's screen and what they typed stay.
    expect(page.locator("#queue")).to_have_text("Phiếu đang chờ: 1", timeout=BEFORE_RESET_MS)
    expect(field).to_have_value("AB12")
    expect(page.get_by_text("KIOSK-WAIT")).to_have_count(0)
    # Done with the code screen: the waiting survey comes next.
    page.get_by_role("button", name="Quay lại").tap()
    expect(page.get_by_text("KIOSK-WAIT")).to_be_visible()
    expect(page.locator("#queue")).to_be_hidden()


def test_the_camera_screen_left_alone_resets_to_idle(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    page = paired_page(tablet, api, make_key)
    # No camera for this tablet (the permission is not given): the screen says so...
    page.get_by_role("button", name="Quét mã QR trên phiếu").tap()
    expect(page.locator("#camera")).to_be_attached()
    expect(page.locator("#scan-error")).to_have_text(
        "Không mở được camera. Ông/bà vui lòng nhập mã đánh giá trên phiếu."
    )
    # ...and gives way to the idle screen once nobody touches it.
    expect(page.locator("#countdown")).to_contain_text(COUNTDOWN_VI)
    expect(page.get_by_role("heading", name=IDLE_VI)).to_be_visible(timeout=RESET_MS)
    expect(page.locator("#camera")).to_have_count(0)


@pytest.fixture
def tablet_with_camera(
    playwright_session: Playwright, kiosk_server: LiveServer
) -> Iterator[BrowserContext]:
    """A tablet whose camera runs (Chromium's fake device: a moving test pattern, no QR)."""
    fake_camera = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    browser = playwright_session.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *fake_camera]
    )
    context = tablet_context(browser, kiosk_server.url, permissions=["camera"])
    yield context
    context.close()
    browser.close()


def test_a_citizen_holding_a_slip_to_the_camera_is_not_reset_before_the_scan_ends(
    tablet_with_camera: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    """The camera screen counts down too, but nobody touches the screen while holding a
    slip up: the idle reset (6 s here, 30 s by default) cut the 60 s scan short (review)."""
    page = paired_page(tablet_with_camera, api, make_key)
    page.get_by_role("button", name="Quét mã QR trên phiếu").tap()
    expect(page.locator("#camera")).to_be_attached()
    expect(page.locator("#camera")).to_have_js_property("paused", False)  # it runs
    page.wait_for_timeout(RESET_MS)  # past the idle reset
    expect(page.locator("#camera")).to_be_attached()
    expect(page.locator("#scan-error")).to_have_text("")
    # Back by hand: the idle screen's own countdown is off again.
    page.get_by_role("button", name="Quay lại").tap()
    expect(page.get_by_role("heading", name=IDLE_VI)).to_be_visible()
