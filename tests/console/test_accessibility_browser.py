"""The console for an official with a screen reader, a keyboard or a zoomed screen: what an
accessibility audit (WCAG 2.1 AA) found, each as the official meets it.

- A save answered with a fresh page whose "Đã lưu" notice was a role="status" present at
  load: not announced, the focus on <body> (4.1.3); the alerts page scrolled it away.
- The petition reply, required, was not marked so; the warning that the citizen cannot read
  the reply online was not read with the field (3.3.2, 1.3.1).
- A refused form came back under the page's own title, and every error page was titled
  "Không thực hiện được" (2.4.2).
- On the English pages the citizen's Vietnamese words were marked English (3.1.2).
- The home page's tree was a flat list, the wards under their city by an indent (1.3.1).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from service.models import Petition
from tests.browser import NewPage
from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer, free_port, make_settings, serve
from tests.console.conftest import WARD, Office, raw_key, seed_ward
from tests.console.test_console_browser import go, office, sign_in, submit  # noqa: F401
from tests.scoring.test_tt01 import TT01

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]


@pytest.fixture
def live_server(database_url: str) -> Iterator[LiveServer]:
    settings = make_settings(
        database_url, base_url=f"http://127.0.0.1:{free_port()}", scoring_profile_also=TT01
    )
    with serve(settings) as live:
        yield live


@pytest.fixture
def seeded(office: Office) -> str:  # noqa: F811
    return seed_ward(office)


def signed_in(
    new_page: NewPage,
    live: LiveServer,
    make_key: KeyFactory,
    role: str = "admin",
    agency: str | None = None,
) -> Page:
    page = new_page(width=1280, height=800)
    sign_in(page, live, raw_key(make_key(role, agency)))
    return page


def test_saving_d_and_e_focuses_the_saved_notice(
    live_server: LiveServer, seeded: str, make_key: KeyFactory, new_page: NewPage
) -> None:
    page = signed_in(new_page, live_server, make_key)
    go(page, f"{live_server.url}/console/a/{WARD}")
    page.fill("#d", "17,5")
    page.select_option("#e", "1")
    submit(page, lambda: page.locator("#d").press("Enter"))
    notice = page.locator("#inputs .notice")
    expect(notice).to_have_text("Đã lưu điểm D và E.")
    expect(notice).to_be_focused()


def test_saving_tt01_focuses_the_saved_notice(
    live_server: LiveServer, seeded: str, make_key: KeyFactory, new_page: NewPage
) -> None:
    page = signed_in(new_page, live_server, make_key)
    go(page, f"{live_server.url}/console/a/{WARD}")
    page.locator("#tt01-form select").first.select_option(index=2)
    submit(page, lambda: page.get_by_role("button", name="Lưu chỉ tiêu 5, 6 và 9").click())
    expect(page.locator("#tt01-saved")).to_be_visible()
    expect(page.locator("#tt01-saved")).to_be_focused()


def test_saving_a_reply_focuses_the_saved_notice(
    live_server: LiveServer, seeded: str, make_key: KeyFactory, new_page: NewPage
) -> None:
    with live_server.session() as session:
        target = session.exec(select(Petition).where(Petition.code == "HL-BT-1")).one()
    page = signed_in(new_page, live_server, make_key, "manager", WARD)
    go(page, f"{live_server.url}/console/petitions/{target.id}")
    page.fill("#reply", "Phường đã bố trí thêm một quầy.")
    submit(page, lambda: page.get_by_role("button", name="Lưu câu trả lời").click())
    notice = page.locator(".notice")
    expect(notice).to_contain_text("Đã lưu câu trả lời")
    expect(notice).to_be_focused()


def test_a_new_pairing_code_is_focused(
    live_server: LiveServer, seeded: str, make_key: KeyFactory, new_page: NewPage
) -> None:
    """The code is the whole point of the form; the page comes back with focus on <body>."""
    page = signed_in(new_page, live_server, make_key, "manager", WARD)
    go(page, f"{live_server.url}/console/a/{WARD}/kiosks")
    page.fill("#counter_code", "Q01")
    submit(page, lambda: page.locator("#counter_code").press("Enter"), 201)
    expect(page.locator("#pairing-code")).to_be_visible()
    expect(page.locator("#code-title")).to_be_focused()  # the code's heading, read first


def test_saving_an_alert_rule_shows_and_focuses_the_notice(
    live_server: LiveServer, seeded: str, make_key: KeyFactory, new_page: NewPage
) -> None:
    page = signed_in(new_page, live_server, make_key)  # an admin: may loosen a rule
    go(page, f"{live_server.url}/console/alerts?agency={WARD}")
    page.fill("#threshold-k_below_threshold", "19")
    submit(page, lambda: page.locator("#threshold-k_below_threshold").press("Enter"))
    notice = page.locator("#saved")
    expect(notice).to_have_text("Đã lưu quy tắc: Chỉ số hài lòng K dưới ngưỡng.")
    # The redirect's #rules scrolls the notice (above the agency picker) out of the window.
    expect(notice).to_be_in_viewport()
    expect(notice).to_be_focused()


def petition_id(live: LiveServer, code: str) -> int:
    with live.session() as session:
        found = session.exec(select(Petition).where(Petition.code == code)).one().id
    assert found is not None
    return found


def test_the_reply_is_marked_required(
    live_server: LiveServer, seeded: str, make_key: KeyFactory, new_page: NewPage
) -> None:
    page = signed_in(new_page, live_server, make_key, "manager", WARD)
    go(page, f"{live_server.url}/console/petitions/{petition_id(live_server, 'HL-BT-1')}")
    # Sending it empty is refused ("Vui lòng viết câu trả lời."), so it is required...
    submit(page, lambda: page.get_by_role("button", name="Lưu câu trả lời").click(), 422)
    expect(page.locator("#err-reply")).to_have_text("Vui lòng viết câu trả lời.")
    marked = page.locator("#reply").evaluate(
        "e => e.required || e.getAttribute('aria-required') === 'true'"
    )
    assert marked, "the reply textarea is not marked as required"


def test_the_no_followup_warning_describes_the_reply_field(
    live_server: LiveServer, seeded: str, make_key: KeyFactory, new_page: NewPage
) -> None:
    page = signed_in(new_page, live_server, make_key, "manager", WARD)
    go(page, f"{live_server.url}/console/petitions/{petition_id(live_server, 'PAKN-OVERDUE')}")
    expect(page.locator("#no-followup")).to_be_visible()
    described = (page.locator("#reply").get_attribute("aria-describedby") or "").split()
    assert "no-followup" in described, f"#reply aria-describedby={described}"


def test_a_refused_sign_in_changes_the_title(live_server: LiveServer, new_page: NewPage) -> None:
    page = new_page(width=1280, height=800)
    go(page, f"{live_server.url}/console/sign-in")
    before = page.title()
    page.fill("#key", "hl_not-a-real-key")
    submit(page, lambda: page.keyboard.press("Enter"), 401)
    assert page.title() == f"Lỗi: {before}", f"the refused sign-in is titled {page.title()!r}"


def test_refused_d_and_e_changes_the_title(
    live_server: LiveServer, seeded: str, make_key: KeyFactory, new_page: NewPage
) -> None:
    page = signed_in(new_page, live_server, make_key)
    go(page, f"{live_server.url}/console/a/{WARD}")
    before = page.title()
    page.fill("#d", "abc")
    submit(page, lambda: page.locator("#d").press("Enter"), 422)
    assert page.title() == f"Lỗi: {before}", f"the refused form is titled {page.title()!r}"


def test_an_error_page_is_titled_by_its_heading(
    live_server: LiveServer, seeded: str, make_key: KeyFactory, new_page: NewPage
) -> None:
    page = signed_in(new_page, live_server, make_key, "manager", WARD)
    for path, status, heading in [
        ("/console/a/NOPE", 404, "Không tìm thấy"),
        ("/console/a/79.SGN", 403, "Không có quyền truy cập"),
    ]:
        go(page, live_server.url + path, status)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert page.title().startswith(f"Lỗi: {heading} · "), f"{path}: title {page.title()!r}"


def test_the_citizens_words_are_marked_vietnamese_in_english(
    live_server: LiveServer, seeded: str, make_key: KeyFactory, new_page: NewPage
) -> None:
    with live_server.session() as session:
        pid = session.exec(select(Petition).where(Petition.code == "HL-BT-1")).one().id
    page = signed_in(new_page, live_server, make_key, "manager", WARD)
    go(page, f"{live_server.url}/console/lang/en?next=/console/petitions/{pid}")
    assert page.evaluate("document.documentElement.lang") == "en"
    expect(page.locator("#complaint")).to_contain_text("Phải chờ hơn một tiếng ở quầy.")
    lang = page.locator("#complaint p").first.evaluate("e => e.closest('[lang]').lang")
    assert lang == "vi", f"the citizen's Vietnamese complaint is read as lang={lang!r}"
    go(page, f"{live_server.url}/console/a/{WARD}/complaints")
    lang = page.locator("#complaints blockquote p").first.evaluate("e => e.closest('[lang]').lang")
    assert lang == "vi", f"complaints list: lang={lang!r}"


def test_the_home_tree_nests_wards_under_their_city(
    live_server: LiveServer, make_key: KeyFactory, new_page: NewPage
) -> None:
    page = signed_in(new_page, live_server, make_key)
    go(page, f"{live_server.url}/console")
    city = page.locator(".tree > li", has=page.get_by_role("link", name="Thành phố Hồ Chí Minh"))
    expect(city).to_have_count(1)
    wards = city.locator(":scope > ul > li > a").all_text_contents()
    assert "Phường Bến Thành" in wards and "Sở Tư pháp" in wards, wards
    assert page.locator(".tree > li").count() == 1  # the city alone at the top
