"""The console in English, in Chromium, with a count of one of each: it read "1 dossiers",
"Overdue by 1 working days", "Other staff (1 people, ...)", and one petition's page was
headed "Petitions PAKN-1" (console audit). Sentences with a count take its form
(ngettext)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page

from service.calendar.working_days import overdue_working_days
from service.models import utcnow
from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer, free_port, make_settings, serve
from tests.console.conftest import WARD, Office, raw_key

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]

COMPLAINT = "Phải chờ hơn một tiếng ở quầy."


@pytest.fixture
def live(database_url: str) -> Iterator[LiveServer]:
    with serve(make_settings(database_url, base_url=f"http://127.0.0.1:{free_port()}")) as live:
        yield live


def _deadline_late_by_one_working_day(now: datetime) -> datetime:
    """A deadline in the past that the inbox reads as overdue by exactly 1 working day."""
    for hours in range(1, 24 * 14):
        deadline = now - timedelta(hours=hours)
        if overdue_working_days(deadline, now) == 1:
            return deadline
    raise AssertionError("no deadline one working day back")


def _sign_in_in_english(page: Page, live: LiveServer, key: str) -> None:
    page.goto(f"{live.url}/console/lang/en?next=/console/sign-in")
    page.get_by_label("Access key").fill(key)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def test_the_english_console_says_1_dossier_1_comment_1_person_1_working_day(
    live: LiveServer, make_key: KeyFactory, browser: Browser
) -> None:
    with httpx.Client(base_url=live.url) as http:
        office = Office(http, make_key)
        now = utcnow()
        # One late dossier (the only one costing points), one on time with a complaint.
        office.handover(
            "BT-LATE",
            received_at=(now - timedelta(days=30)).isoformat(),
            due_at=(now - timedelta(days=14)).isoformat(),
        )
        office.handover("BT-1")
        # 1 comment (asking no answer), so 1 open petition: PAKN-1.
        office.answer_on_page("BT-1", complaint=COMPLAINT, wants_reply="no")
        office.petition(
            "PAKN-1",
            received_at=(now - timedelta(days=30)).isoformat(),
            deadline_at=_deadline_late_by_one_working_day(now).isoformat(),
        )
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    wrong: list[str] = []

    def check(url: str, said: str) -> None:
        page.goto(live.url + url)
        text = " ".join(page.locator("main").inner_text().split())
        if not re.search(said, text):
            wrong.append(f"{url}: no {said!r} in {text[:300]!r}")

    try:
        _sign_in_in_english(page, live, raw_key(make_key("manager", WARD)))
        check(f"/console/a/{WARD}/dossiers", r"\b1 dossier\b")
        check(f"/console/a/{WARD}/complaints", r"\b1 comment\b")
        check(f"/console/a/{WARD}/response-rates", r"\(1 person, under \d+ answers\)")
        check(f"/console/a/{WARD}/petitions", r"\b1 petition not answered yet\b")
        check(f"/console/a/{WARD}/petitions?show=all", r"\bOverdue by 1 working day\b")
        page.goto(f"{live.url}/console/a/{WARD}/petitions")
        with page.expect_navigation():
            page.get_by_role("link", name="PAKN-1").click()
        heading = page.get_by_role("heading", level=1).inner_text()
        if heading != "Petition PAKN-1":
            wrong.append(f"petition page heading: {heading!r}")
    finally:
        context.close()
    assert wrong == [], "English for a count of one:\n" + "\n".join(wrong)
