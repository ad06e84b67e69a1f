"""A tablet left in English goes back to Vietnamese by itself. A citizen who tapped
"English" on the idle screen and walked away left it in English for the next one: the idle
reset (DESIGN.md: the screen resets when the citizen walks away; Vietnamese first) did not
cover the idle screen itself (kiosk audit)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from tests.conftest import ONE_BACKEND, KeyFactory
from tests.kiosk.conftest import IDLE_SECONDS
from tests.kiosk.test_kiosk_browser import IDLE_VI, paired_page

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
