"""The opt-out page ("Từ chối nhận tin", /u/{token}) in headless Chromium, in English and
in Vietnamese: its language switch, the keyboard alone, axe-core and a 360 px phone.

Screenshots land in artifacts/ (opt-out-*.png).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from service.messaging.contacts import opt_out_token
from tests.conftest import ONE_BACKEND, LiveServer
from tests.surveys.test_survey_browser import (
    MIN_TAP_PX,
    MIN_TEXT_PX,
    SMALL_PHONE,
    PageFactory,
    axe_violations,
    heading,
    open_page,
    phone,
    send,
    tab_to,
)

pytestmark = [pytest.mark.browser, ONE_BACKEND]
__all__ = ["phone"]  # the survey tests' phone fixture, used here too
ASK_EN = "Stop messages"
DONE_EN = "Done: you will get no more messages"
ASK_VI = "Từ chối nhận tin"
DONE_VI = "Đã ghi nhận: ông/bà sẽ không nhận tin nữa"

LAYOUT_JS = """minText => {
    const root = document.scrollingElement;
    const px = el => parseFloat(getComputedStyle(el).fontSize);
    const small = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!node.textContent.trim() || !el.getClientRects().length) continue;
        if (px(el) < minText) small.push(`${el.className || el.tagName}: ${px(el)}px`);
    }
    const box = el => el ? el.getBoundingClientRect().toJSON() : null;
    return {
        scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, small,
        button: box(document.querySelector('button.submit')),
        langs: box(document.querySelector('.langs a')),
    };
}"""


def _link(live_server: LiveServer, channel: str = "sms") -> str:
    token = opt_out_token(live_server.settings.signing_key(), channel, "0901234567")
    return f"{live_server.url}/u/{token}"


def _fits_a_small_phone(page: Page, name: str) -> dict[str, Any]:
    layout: dict[str, Any] = page.evaluate(LAYOUT_JS, MIN_TEXT_PX)
    assert layout["clientWidth"] == SMALL_PHONE["width"], layout
    assert layout["scrollWidth"] <= layout["clientWidth"], f"{name} scrolls sideways: {layout}"
    assert layout["small"] == [], f"{name}: text under {MIN_TEXT_PX}px: {layout['small']}"
    return layout


def test_an_english_link_asks_and_confirms_in_english_at_360_px(
    phone: PageFactory, live_server: LiveServer, artifacts_dir: Path
) -> None:
    """(audit) The page a citizen reaches from an English invitation's message spoke
    Vietnamese only, `?lang=en` or not, with a button that stops every message; and it had
    no language switch."""
    page = phone(viewport=SMALL_PHONE)
    open_page(page, f"{_link(live_server)}?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert heading(page) == ASK_EN
    expect(page.locator("main")).to_contain_text("at this phone number, by SMS or by Zalo")
    # The Vietnamese words of the link in the messages, marked as Vietnamese.
    expect(page.locator('main span[lang="vi"]').first).to_have_text("“Từ chối nhận tin”")
    layout = _fits_a_small_phone(page, "English question")
    assert layout["button"]["height"] >= MIN_TAP_PX, layout["button"]
    assert layout["button"]["width"] >= 0.8 * SMALL_PHONE["width"], layout["button"]
    assert layout["langs"]["height"] >= 44, layout["langs"]
    page.screenshot(path=artifacts_dir / "opt-out-english-360.png", full_page=True)

    switch = page.get_by_role("link", name="Tiếng Việt")
    expect(switch).to_have_attribute("hreflang", "vi")
    send(page, lambda: switch.tap(), 200)
    assert page.locator("html").get_attribute("lang") == "vi" and heading(page) == ASK_VI
    send(page, lambda: page.get_by_role("link", name="English").tap(), 200)
    assert heading(page) == ASK_EN

    send(page, lambda: page.get_by_role("button", name=ASK_EN).tap(), 200)
    assert page.locator("html").get_attribute("lang") == "en"
    assert heading(page) == DONE_EN
    _fits_a_small_phone(page, "English confirmation")
    # No switch here: it would reload the link and ask the question again.
    expect(page.locator(".langs")).to_have_count(0)
    page.screenshot(path=artifacts_dir / "opt-out-english-done-360.png", full_page=True)


def test_the_keyboard_alone_reaches_the_switch_and_the_button_with_visible_focus(
    phone: PageFactory, live_server: LiveServer
) -> None:
    """(audit) The English page's two controls, the switch and the button, each take a
    visible focus in turn, and Enter stops the messages."""
    page = phone(is_mobile=False, has_touch=False, device_scale_factor=1)
    open_page(page, f"{_link(live_server, 'email')}?lang=en")
    seen: list[dict[str, Any]] = []
    tab_to(page, ".langs a", seen)
    tab_to(page, "button.submit", seen)
    assert len(seen) == 2, seen
    send(page, lambda: page.keyboard.press("Enter"), 200)
    assert heading(page) == DONE_EN


def test_axe_finds_nothing_serious_on_the_opt_out_pages_in_either_language(
    phone: PageFactory, live_server: LiveServer
) -> None:
    """(audit) The English pages, the Vietnamese ones and a wrong link's, as axe-core sees
    them (the Vietnamese words inside English sentences are marked as such)."""
    page = phone(bypass_csp=True)  # axe is injected: only script-src 'self' otherwise
    link = _link(live_server)
    found: dict[str, list[dict[str, Any]]] = {}
    for lang, done in (("en", DONE_EN), ("vi", DONE_VI)):
        open_page(page, f"{link}?lang={lang}")
        found[f"question ({lang})"] = axe_violations(page)
        send(page, lambda: page.locator("button.submit").click(), 200)
        assert heading(page) == done
        found[f"confirmation ({lang})"] = axe_violations(page)
    open_page(page, f"{live_server.url}/u/eAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?lang=en", 404)
    assert heading(page) == "This link is not right"
    found["wrong link (en)"] = axe_violations(page)
    report = "\n".join(
        f"{name}: [{v['impact']}] {v['id']}: {v['help']} at {v['targets']}"
        for name, violations in found.items()
        for v in violations
        if v["impact"] in ("serious", "critical")
    )
    assert not report, "axe-core found:\n" + report
