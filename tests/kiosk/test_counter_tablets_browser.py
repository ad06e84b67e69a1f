"""What a counter's tablets do when the server has the last word (kiosk audit), in
headless Chromium against a live `hailong serve` (on one database: ONE_BACKEND):
- two tablets at one counter both showed citizen 1's survey; answered on one, the other
  kept showing that stranger's dossier, the next citizen's survey stuck behind it (and,
  review, the first fix took a survey a citizen was reading off the screen once it aged
  out of the counter's waiting list: only an answered one leaves, untouched);
- an answer the server refused for good (other than answered meanwhile or withdrawn) left
  the outbox with no word on the tablet, the citizen already thanked;
- a 429's Retry-After was ignored: the answer went again every 5 s."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Route, expect
from sqlmodel import select

from service.models import Invitation, utcnow
from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer, free_port, make_settings, serve
from tests.kiosk.conftest import hand_over, tablet_context
from tests.kiosk.test_kiosk_browser import THANKS_VI, answer_all, delivered, paired_page

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]
ANSWERS_ROUTE = "**/kiosk/api/answers"
REFUSED_VI = "Máy chủ không nhận câu trả lời này"
# Every screen's heading, in order, from now on: a screen that shows for a moment (a
# thank-you the server's instant refusal replaces) is checked on this record, not by
# catching it on screen, which a loaded machine can miss.
RECORD_HEADINGS = """() => {
  window.__headings = [];
  const screen = document.getElementById("screen");
  new MutationObserver(() => {
    const heading = screen.querySelector("h1");
    if (heading) window.__headings.push(heading.textContent);
  }).observe(screen, { childList: true });
}"""


@pytest.fixture
def patient_server(database_url: str) -> Iterator[LiveServer]:
    """The idle reset at 120 s: what a tablet shows between two citizens is not the reset's."""
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{free_port()}")
    with serve(settings.model_copy(update={"kiosk_idle_seconds": 120})) as live:
        yield live


def test_a_survey_answered_on_the_other_tablet_of_the_counter_leaves_this_one(
    browser: Browser, patient_server: LiveServer, make_key: KeyFactory
) -> None:
    a_context = tablet_context(browser, patient_server.url)
    b_context = tablet_context(browser, patient_server.url)
    try:
        with httpx.Client(base_url=patient_server.url) as api:
            a = paired_page(a_context, api, make_key)
            b = paired_page(b_context, api, make_key)
            hand_over(api, make_key, dossier_code="TWO-1")
            expect(a.get_by_text("TWO-1")).to_be_visible(timeout=10_000)
            expect(b.get_by_text("TWO-1")).to_be_visible(timeout=10_000)
            hand_over(api, make_key, dossier_code="TWO-2")
            expect(b.locator("#queue")).to_have_text("Phiếu đang chờ: 1", timeout=10_000)

            answer_all(a)  # citizen 1, on tablet A
            delivered(a)
            expect(a.get_by_text("TWO-2")).to_be_visible(timeout=15_000)
            # B's next look at the counter's waiting list (every 15 s; asked for now).
            b.evaluate("window.hailongKiosk.readList()")
            expect(b.get_by_text("TWO-2")).to_be_visible(timeout=10_000)
            expect(b.get_by_text("TWO-1")).to_have_count(0)
    finally:
        a_context.close()
        b_context.close()


@pytest.mark.parametrize("touched", [True, False])
def test_a_survey_that_aged_out_of_the_waiting_list_unanswered_stays(
    browser: Browser, patient_server: LiveServer, make_key: KeyFactory, touched: bool
) -> None:
    """Off the counter's list is not answered: a survey waits there for the counter's
    window (15 min) only. Whether the citizen has begun reading it (the tablet switched to
    English) or not yet, nobody answered it: it stays on screen."""
    context = tablet_context(browser, patient_server.url)
    try:
        with httpx.Client(base_url=patient_server.url) as api:
            page = paired_page(context, api, make_key)
            hand_over(api, make_key, dossier_code="READING-1")
            expect(page.get_by_text("READING-1")).to_be_visible(timeout=10_000)
            if touched:
                page.wait_for_timeout(600)  # the screen guard
                page.locator("#switch").tap()
                expect(page.locator("html")).to_have_attribute("lang", "en")
            with patient_server.session() as session:
                for invitation in session.exec(select(Invitation)):
                    invitation.issued_at = utcnow() - timedelta(minutes=16)
                    session.add(invitation)
            page.evaluate("window.hailongKiosk.readList()")
            page.wait_for_timeout(2000)  # the list's reply, and the lookup after it
            expect(page.get_by_text("READING-1")).to_be_visible()
            expect(page.locator("html")).to_have_attribute("lang", "en" if touched else "vi")
    finally:
        context.close()


def test_an_answer_the_server_refuses_for_good_is_said_on_the_tablet(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="REFUSED-422")
    expect(page.get_by_text("REFUSED-422")).to_be_visible(timeout=10_000)
    refusal = json.dumps(
        {
            "error": "invalid_input",
            "detail": "answers.overall: 'very_satisfied' is not one of: satisfied, unsatisfied.",
            "fields": [{"field": "answers.overall", "problem": "is not offered"}],
        }
    )
    page.route(
        ANSWERS_ROUTE,
        lambda route: route.fulfill(status=422, content_type="application/json", body=refusal),
    )
    page.evaluate(RECORD_HEADINGS)
    answer_all(page)
    delivered(page)  # refused for good: out of the outbox
    expect(page.locator("main").get_by_text(REFUSED_VI)).to_be_visible(timeout=5000)
    # Thanked at once, and told of the refusal after it.
    seen: list[str] = page.evaluate("window.__headings")
    assert THANKS_VI in seen, seen
    refused = [n for n, heading in enumerate(seen) if REFUSED_VI in heading]
    assert refused and seen.index(THANKS_VI) < refused[0], seen
    # For the clerk, after the citizen has gone: the status line says it for a day.
    expect(page.locator("#net")).to_have_text(
        "1 câu trả lời máy chủ không nhận: vui lòng báo quản trị viên"
    )
    page.reload()
    expect(page.locator("#net")).to_contain_text("1 câu trả lời máy chủ không nhận")


def test_a_429_with_retry_after_is_not_sent_again_before_the_time_it_names(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="LIMITED-429")
    expect(page.get_by_text("LIMITED-429")).to_be_visible(timeout=10_000)
    sent: list[float] = []

    def limited(route: Route) -> None:
        sent.append(time.monotonic())
        route.fulfill(
            status=429,
            headers={"Retry-After": "15"},
            content_type="application/json",
            body=json.dumps({"error": "rate_limited", "detail": "Too many requests."}),
        )

    page.route(ANSWERS_ROUTE, limited)
    answer_all(page)
    expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible()
    page.wait_for_timeout(12_000)  # two 5 s rounds: sent again in each before
    assert len(sent) == 1, f"{len(sent)} sends within 12 s of a 429 asking for 15 s"
    assert page.evaluate("window.hailongKiosk.outbox().length") == 1  # kept meanwhile
    page.unroute(ANSWERS_ROUTE)
    delivered(page)  # once the 15 s have passed
    assert time.monotonic() - sent[0] >= 14.5
