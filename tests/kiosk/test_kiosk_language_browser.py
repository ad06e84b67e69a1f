"""A tablet left in English goes back to Vietnamese by itself. A citizen who tapped
"English" on the idle screen and walked away left it in English for the next one: the idle
reset (DESIGN.md: the screen resets when the citizen walks away; Vietnamese first) did not
cover the idle screen itself (kiosk audit)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer
from tests.harness.processes import wait_until
from tests.kiosk.conftest import IDLE_SECONDS, hand_over
from tests.kiosk.test_kiosk_browser import IDLE_VI, paired_page, ready, responses

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]


def test_english_tapped_on_the_idle_screen_goes_back_to_vietnamese_when_left_alone(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    page = paired_page(tablet, api, make_key)
    page.get_by_role("button", name="English").tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # The countdown says so, as on every screen a citizen may walk away from.
    expect(page.locator("#countdown")).to_be_visible()
    # The citizen walks away. Well past the idle time, the next citizen walks up.
    page.wait_for_timeout((IDLE_SECONDS + 4) * 1000)
    expect(page.get_by_role("heading", name=IDLE_VI)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("#countdown")).to_have_count(0)


def test_english_chosen_before_typing_a_code_is_kept_for_the_survey(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory, kiosk_server: LiveServer
) -> None:
    """A citizen who taps "English" and then types the code of their (Vietnamese) slip gets
    the survey in English: the survey's language replaced their choice, and the switch
    looked broken (kiosk walkthrough). Their answer is stored as given in English."""
    page = paired_page(tablet, api, make_key)
    # Handed over at another counter (not pushed to this tablet): typed by its code.
    issued = hand_over(api, make_key, dossier_code="TYPED-1", counter_code="Q09", language="vi")
    page.get_by_role("button", name="English").tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Type a survey code").tap()
    page.get_by_label("Survey code or dossier code printed on your slip").fill(issued["short_code"])
    page.keyboard.press("Enter")
    expect(page.get_by_text("TYPED-1")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    for label in ["On time", "Never", "Good", "Satisfied"]:
        ready(page)
        page.get_by_role("button", name=label, exact=True).tap()
    ready(page)
    page.get_by_role("button", name="Send").tap()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    wait_until(lambda: len(responses(kiosk_server)) == 1, 20, "the answer to be stored")
    assert [r.language for r in responses(kiosk_server)] == ["en"]
