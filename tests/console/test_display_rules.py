"""What people read is what was meant: one rounding for a score on every page (issue 17,
item 7), the comments tab's code and quote in their places, direction controls that cannot
turn text around, and handling dates the console form refuses rather than crashes on."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.models import Petition, Response
from tests.conftest import DbFactory, KeyFactory
from tests.console.conftest import WARD, ConsoleClient, Office, current_period, raw_key

RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"
BIDI = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def k_of_21_4375(office: Office) -> str:
    """A ward whose K is 21.4375 exactly: A = B = C = 1, D = 17.4375 (imported), E = 1.
    Rounded to nearest it reads 21,44; rounded down 21,43 (the console and the public pages
    used to disagree on exactly this)."""
    office.handover("R-1")
    office.answer_on_page("R-1")
    period = current_period()
    response = office.http.put(
        f"/api/v1/agencies/{WARD}/periods/{period}/inputs",
        json={"d": 17.4375, "e": 1},
        headers=office.admin,
    )
    assert response.status_code == 200, response.text
    assert office.score()["k"] == 21.4375
    return period


def test_the_same_k_reads_the_same_on_every_page(
    office: Office, console: ConsoleClient, client: TestClient, make_key: KeyFactory
) -> None:
    period = k_of_21_4375(office)
    rankings = client.get(f"/rankings?period={period}&parent_code=79").text
    agency = client.get(f"/agencies/{WARD}?period={period}").text
    badge = client.get(f"/badge/{WARD}.svg?period={period}").text
    embed = client.get(f"/embed/agencies/{WARD}?period={period}").text
    console.sign_in(raw_key(make_key("manager", WARD)))
    console_page = console.get(f"/console/a/{WARD}?period={period}").text
    for name, html in [
        ("rankings", rankings),
        ("agency", agency),
        ("badge", badge),
        ("embed", embed),
        ("console", console_page),
    ]:
        assert "21,43" in html, name
        assert "21,44" not in html, name
    assert re.search(r'id="k-value">21,43<', console_page)
    assert "K 21,43" in badge
    english = client.get(f"/rankings?period={period}&parent_code=79&lang=en").text
    assert "21.43" in english and "21,43" not in english
    # The exports keep the exact value, as the API does.
    csv = client.get(f"/api/v1/scores.csv?period={period}", headers=office.admin).text
    assert "21.4375" in csv


def test_comments_tab_shows_the_code_as_the_code_and_the_comment_as_the_quote(
    office: Office, console: ConsoleClient, make_key: KeyFactory
) -> None:
    office.handover("BT-7")
    office.answer_on_page("BT-7", complaint="Quầy số 2 đóng cửa sớm.")
    console.sign_in(raw_key(make_key("manager", WARD)))
    page = console.get(f"/console/a/{WARD}/complaints").text
    card = re.search(r'<li class="card">(.*?)</li>', page, re.S)
    assert card, page
    assert re.search(r"Mã hồ sơ\s*<strong>BT-7</strong>", card.group(1))
    quote = re.search(r"<blockquote>(.*?)</blockquote>", card.group(1), re.S)
    assert quote and "Quầy số 2 đóng cửa sớm." in quote.group(1)
    assert "BT-7" not in quote.group(1)


def test_direction_controls_are_removed_from_comments_contacts_and_replies(
    office: Office, console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    office.handover("BT-8")
    followup = office.answer_on_page(
        "BT-8",
        complaint=f"Cán bộ {RLO}trả kết quả sai{PDF} tên",
        wants_reply="yes",
        contact=f"{LRI}0903 123 456{PDI}",
        consent="yes",
    )
    with db() as session:
        stored = session.exec(select(Response).where(col(Response.complaint).is_not(None))).one()
        assert stored.complaint == "Cán bộ trả kết quả sai tên"
    console.sign_in(raw_key(make_key("manager", WARD)))
    page = console.get(f"/console/a/{WARD}/complaints").text
    assert "Cán bộ trả kết quả sai tên" in page and not BIDI.search(page)
    assert followup is not None
    assert "Cán bộ trả kết quả sai tên" in office.http.get(followup).text

    with db() as session:
        petition = session.exec(select(Petition).where(Petition.code == "HL-BT-8")).one()
    form_page = console.get(f"/console/petitions/{petition.id}").text
    assert 'id="handled-at-fixed"' in form_page  # it has a deadline: handled when saved
    saved = console.post(
        f"/console/petitions/{petition.id}/reply", {"reply": f"Phường {RLO}đã sửa{PDF} tên."}
    )
    assert saved.status_code == 200, saved.text
    citizen_view = office.http.get(followup).text
    assert "Phường đã sửa tên." in citizen_view and not BIDI.search(citizen_view)
    # Text is isolated where it is shown, for anything stored before this rule.
    assert re.search(r'<p dir="auto">Phường đã sửa tên.</p>', citizen_view)


@pytest.mark.parametrize("handled_at", ["0001-01-01T09:00", "9999-12-31T09:00"])
def test_the_reply_form_refuses_a_handling_time_out_of_range(
    office: Office, console: ConsoleClient, make_key: KeyFactory, db: DbFactory, handled_at: str
) -> None:
    office.handover("BT-9")
    # A comment (no answer asked, no deadline): its handling time is typed.
    office.answer_on_page("BT-9", complaint="Chờ lâu.", wants_reply="no")
    with db() as session:
        petition = session.exec(select(Petition).where(Petition.code == "HL-BT-9")).one()
    console.sign_in(raw_key(make_key("manager", WARD)))
    console.get(f"/console/petitions/{petition.id}")
    response = console.post(
        f"/console/petitions/{petition.id}/reply", {"reply": "Đã xử lý", "handled_at": handled_at}
    )
    assert response.status_code == 422 and "Nhập ngày giờ" in response.text
    with db() as session:
        unchanged = session.get(Petition, petition.id)
        assert unchanged is not None and unchanged.handled_at is None


def _ward_just_under_20(office: Office, b_two_thirds: bool, d: float) -> str:
    """A = C = E = 1 and B = 1 (one evaluation) or 2/3 (three, one asked twice to supplement);
    D imported. Returns the period."""
    codes = ("U-1", "U-2", "U-3") if b_two_thirds else ("U-1",)
    for code in codes:
        office.handover(code)
        asked = "twice_or_more" if code == "U-3" else "none"
        office.answer_on_page(code, supplement_requests=asked)
    period = current_period()
    response = office.http.put(
        f"/api/v1/agencies/{WARD}/periods/{period}/inputs",
        json={"d": d, "e": 1},
        headers=office.admin,
    )
    assert response.status_code == 200, response.text
    return period


@pytest.mark.parametrize(
    ("b_two_thirds", "d", "d_shown"),
    [
        # K = 3 + 15.99999999999996 + 1: its float, cleaned of binary noise, reads 20.
        (False, 15.99999999999996, "15,99"),
        # K = 3 + 2/3 + 16.333333333333332 = 20 - 1.3e-15: its float IS 20.0.
        (True, 16.333333333333332, "16,33"),
    ],
)
def test_the_console_prints_the_exact_k_of_a_ward_a_hair_under_20(
    office: Office,
    console: ConsoleClient,
    make_key: KeyFactory,
    b_two_thirds: bool,
    d: float,
    d_shown: str,
) -> None:
    """The console printed the API's floats: a K a hair under 20 read "20" beside "Không hài
    lòng" on the agency's card, its history and its parent's list of children, as it did on
    the public pages (49b8750). It prints the exact fractions the group was decided on, cut to
    two places (audit)."""
    period = _ward_just_under_20(office, b_two_thirds, d)
    score = office.score(WARD, period)
    assert score["k"] <= 20 and score["group"] == "khong_hai_long"

    console.sign_in(raw_key(make_key("manager", WARD)))  # reads D and E, does not set them
    page = console.get(f"/console/a/{WARD}?period={period}").text
    assert re.search(r'id="k-value">19,99<', page), re.search(r'id="k-value">[^<]*', page)
    assert re.search(r'id="k-group">Không hài lòng<', page)
    assert re.search(rf'id="part-d">{d_shown}<', page)
    history = re.search(r'<table id="history".*?</table>', page, re.S)
    assert history and re.search(
        rf'{period}</a></th><td class="num" data-label="K">19,99</td>', history.group(0)
    ), history.group(0) if history else page
    assert f"D: {d_shown} · E: 1" in page

    console.sign_in(raw_key(make_key("manager", "79")))
    parent = console.get(f"/console/a/79?period={period}").text
    children = re.search(r'<table id="children".*?</table>', parent, re.S)
    assert children, parent
    row = re.search(r"Phường Bến Thành</a></th>(.*?)</tr>", children.group(0), re.S)
    assert row and re.search(
        r'data-label="K">19,99</td><td data-label="Xếp loại">Không hài lòng', row.group(1)
    ), row.group(1) if row else children.group(0)
