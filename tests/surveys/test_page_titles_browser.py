"""The phone pages' titles say what happened (WCAG 2.4.2): a screen reader says the title
first on every page load, and it is what a phone's tab list and history show."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import col, select

from service.models import Invitation
from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer
from tests.surveys.conftest import ANSWERS
from tests.surveys.test_embed_browser import issue_token
from tests.surveys.test_survey_browser import (  # noqa: F401
    PageFactory,
    open_page,
    phone,
    replied_followup,
    survey_url,
)

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]


def title_and_heading(page: Page) -> tuple[str, str]:
    return page.title(), (page.locator("h1").text_content() or "").strip()


def test_each_state_of_a_survey_link_has_its_own_title(
    live_server: LiveServer,
    make_key: KeyFactory,
    survey_url: str,  # noqa: F811
    phone: PageFactory,  # noqa: F811
) -> None:
    """Answered (409), expired, revoked (410) and unknown (404) had one title, "Phiếu
    đánh giá", which said nothing of what happened (accessibility audit)."""
    page = phone()
    open_page(page, survey_url)
    for field, value in ANSWERS.items():
        page.locator(f'input[name="{field}"][value="{value}"]').check()
    with page.expect_navigation():
        page.locator("button.submit").click()
    open_page(page, survey_url, 409)
    seen = {"answered": title_and_heading(page)}

    revoked = f"{live_server.url}/s/{issue_token(live_server, make_key, 'A11Y-REVOKED')}"
    httpx.post(
        f"{live_server.url}/api/v1/handovers/A11Y-REVOKED/revoke", headers=make_key("issuer")
    )
    open_page(page, revoked, 410)
    seen["revoked"] = title_and_heading(page)

    expired = f"{live_server.url}/s/{issue_token(live_server, make_key, 'A11Y-EXPIRED')}"
    with live_server.session() as session:
        invitation = session.exec(select(Invitation).order_by(col(Invitation.id).desc())).first()
        assert invitation is not None
        invitation.expires_at = invitation.issued_at
        session.add(invitation)
    open_page(page, expired, 410)
    seen["expired"] = title_and_heading(page)
    open_page(page, f"{live_server.url}/s/{'A' * 43}", 404)
    seen["unknown"] = title_and_heading(page)

    titles = {state: title for state, (title, _) in seen.items()}
    assert len(set(titles.values())) == len(titles), f"one title for different states: {titles}"
    for state, (title, heading) in seen.items():
        assert heading in title, f"{state}: title {title!r} does not say {heading!r}"


def test_a_form_sent_back_with_problems_says_so_in_its_title(
    survey_url: str,  # noqa: F811
    phone: PageFactory,  # noqa: F811
) -> None:
    """The 422 page kept the form's title ("Đánh giá hồ sơ …"); as GOV.UK does (WCAG G88),
    "Lỗi: " comes first."""
    page = phone()
    open_page(page, survey_url)
    fresh = page.title()
    with page.expect_navigation():
        page.locator("button.submit").click()
    assert page.locator("#errors").count() == 1
    assert page.title() != fresh, f"the refused form's title is the form's: {fresh!r}"
    assert page.title().startswith("Lỗi"), page.title()


def test_a_verdict_once_saved_is_what_the_page_says_first(
    live_server: LiveServer,
    survey_url: str,  # noqa: F811
    phone: PageFactory,  # noqa: F811
) -> None:
    """After the citizen judged the reply the page came back with the same title and the
    thanks in a role=status paragraph below the reply; a live region present at load is not
    announced: a screen reader user was not told it worked (accessibility audit)."""
    page = phone()
    open_page(page, replied_followup(page, survey_url, live_server))
    before = page.title()
    page.locator('input[name="verdict"][value="satisfied"]').check()
    with page.expect_navigation():
        page.locator("button.submit").click()
    saved = page.locator("#verdict-saved")
    assert saved.count() == 1
    expect(saved).to_be_focused()  # autofocus lands at the next rendering
    assert page.title() == f"Đã ghi nhận ý kiến · {before}"
