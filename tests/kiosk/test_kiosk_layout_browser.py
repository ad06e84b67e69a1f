"""The comment screen (the last one, with the send button) at the tablet sizes a counter
uses: what finishes the survey, and the countdown that will reset it, must be on screen
without scrolling. Before: at 1280×800 landscape both were below the fold."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ViewportSize, expect

from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer
from tests.kiosk.conftest import hand_over
from tests.kiosk.test_kiosk_browser import TAPS, paired_page, ready

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]

VISIBLE_BOTTOMS = """() => ({
  vh: innerHeight,
  send: document.getElementById('send').getBoundingClientRect().bottom,
  countdown: document.getElementById('countdown').getBoundingClientRect().bottom,
  overflowX: document.documentElement.scrollWidth - innerWidth,
})"""


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1280, "height": 800}, {"width": 800, "height": 1280}],
    ids=["landscape-1280x800", "portrait-800x1280"],
)
def test_comment_screen_shows_send_and_countdown_without_scrolling(
    browser: Browser,
    api: httpx.Client,
    make_key: KeyFactory,
    kiosk_server: LiveServer,
    viewport: ViewportSize,
) -> None:
    context = browser.new_context(viewport=viewport, has_touch=True, base_url=kiosk_server.url)
    context.set_default_timeout(10_000)
    try:
        page = paired_page(context, api, make_key)
        hand_over(api, make_key, dossier_code="LAYOUT-1")
        expect(page.get_by_text("LAYOUT-1")).to_be_visible(timeout=10_000)
        for label in TAPS:
            ready(page)
            page.get_by_role("button", name=label, exact=True).tap()
        ready(page)
        expect(page.locator("#countdown")).to_be_attached()
        where = page.evaluate(VISIBLE_BOTTOMS)
        assert where["send"] <= where["vh"] and where["countdown"] <= where["vh"], where
        assert where["overflowX"] <= 0, where
    finally:
        context.close()


@contextmanager
def on_a_phone(browser: Browser, server: LiveServer) -> Iterator[BrowserContext]:
    """A 390 × 844 touch screen (a common phone) on the kiosk's server."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, base_url=server.url
    )
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


def test_on_a_phone_the_comment_screen_scrolls_to_send_without_sideways_overflow(
    browser: Browser, api: httpx.Client, make_key: KeyFactory, kiosk_server: LiveServer
) -> None:
    with on_a_phone(browser, kiosk_server) as context:
        page = paired_page(context, api, make_key)
        hand_over(api, make_key, dossier_code="LAYOUT-PHONE")
        expect(page.get_by_text("LAYOUT-PHONE")).to_be_visible(timeout=10_000)
        for label in TAPS:
            ready(page)
            page.get_by_role("button", name=label, exact=True).tap()
        ready(page)
        page.locator("#send").scroll_into_view_if_needed()
        expect(page.locator("#send")).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0


HEADER_PROBE = """() => {
  const found = {};
  for (const id of ['switch', 'skip', 'queue']) {
    const e = document.getElementById(id);
    if (!e || e.hidden) continue;
    const b = e.getBoundingClientRect();
    const top = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
    found[id] = top === e || e.contains(top) ? 'reachable' : 'covered by ' + (top && top.tagName);
  }
  const bar = document.querySelector('header.bar');
  found.bar = {height: bar.clientHeight, content: bar.scrollHeight};
  return found;
}"""


def test_on_a_phone_the_header_buttons_are_not_hidden_under_the_screen(
    browser: Browser, api: httpx.Client, make_key: KeyFactory, kiosk_server: LiveServer
) -> None:
    """The header bar, a flex item of the full-height body column, shrank to its 72 px
    min-height on a 390 px phone: the buttons wrapped to its second and third lines (the
    language switch, the clerk's skip, the queue badge) lay under <main>, white on light
    grey, and a tap on them landed on the screen below (audit)."""
    with on_a_phone(browser, kiosk_server) as context:
        page = paired_page(context, api, make_key)
        hand_over(api, make_key, dossier_code="HEADER-1")
        # Shown before the second is handed over: two handed over at once may reach the
        # tablet in one poll, which shows the newer first (a CI run saw HEADER-2).
        expect(page.get_by_text("HEADER-1")).to_be_visible()
        hand_over(api, make_key, dossier_code="HEADER-2")  # one waits: the queue badge shows
        expect(page.locator("#queue")).to_be_visible()
        ready(page)
        found = page.evaluate(HEADER_PROBE)
        assert found["bar"]["content"] <= found["bar"]["height"], found
        assert found["switch"] == "reachable", found
        assert found["skip"] == "reachable", found
        assert found["queue"] == "reachable", found
