"""TT 01/2018 in the officials' console, where the service computes it beside the K score:
the agency page's card (total, class, rank, the nine indicators), the competent authority's
form for indicators 5, 6 and 9, and the children's totals. Without the profile beside it,
the page is as it was.

The figures are tests/scoring/test_tt01.py's worked September of 79.BTH."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.app import create_app
from service.models import AuditLog, PeriodInput
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, make_settings
from tests.console.conftest import (
    WARD,
    ConsoleClient,
    autofocused_alert,
    fields_to_fix,
    form_fields,
    raw_key,
)
from tests.scoring.test_tt01 import TT01, seed_september, tt_score
from tests.scoring.test_worked_examples import Office

pytestmark = pytest.mark.usefixtures("agencies")
PERIOD = "2025-09"
PAGE = f"/console/a/{WARD}?period={PERIOD}"
ENTERED = {"desk_organisation": "2", "public_posting": "1", "online_services": "2"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    """HCMC 104/2024 with TT 01/2018 computed beside it."""
    return make_settings(database_url, scoring_profile_also=TT01)


@pytest.fixture
def september(client: TestClient, make_key: KeyFactory) -> Office:
    office = Office(client, make_key)
    seed_september(office)
    return office


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert found, element_id
    return found.group(1).strip()


def indicator_row(html: str, key: str) -> str:
    found = re.search(rf'<tr data-indicator="{key}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, key
    return found.group(1)


def signed_in(console: ConsoleClient, make_key: KeyFactory, agency: str) -> ConsoleClient:
    console.sign_in(raw_key(make_key("manager", agency)))
    return console


def test_the_card_adds_up_the_worked_september_and_the_form_completes_it(
    september: Office, console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    # The competent authority of the ward: a manager of the city above it.
    city = signed_in(console, make_key, "79")
    page = city.get(PAGE)
    assert page.status_code == 200
    html = page.text
    # Before 5, 6, 9 are entered: no total, no class, the range it can reach (37/6 known,
    # + 3 × 2 missing = 73/6), shown rounded down as every console figure: 6,16 and 12,16.
    assert text_of(html, "tt01-total") == "—"
    assert text_of(html, "tt01-class") == "Chưa đủ dữ liệu"
    assert text_of(html, "tt01-missing") == (
        "Còn thiếu chỉ tiêu: 5, 6, 9. Tổng điểm có thể từ 6,16 đến 12,16."
    )
    assert "<li>6. Công khai thủ tục hành chính</li>" in html
    # Indicator by indicator (test_tt01.py): 1 = 4/6, 4 = 3/2 over 2 evaluations, 7 = 4/3,
    # 8 = 1 over 3 petitions; each with its bar (points ÷ 2) and its basis in words.
    assert text_of(html, "tt01-1") == "0,66"
    assert text_of(html, "tt01-4") == "1,5"
    assert text_of(html, "tt01-7") == "1,33"
    assert text_of(html, "tt01-8") == "1"
    first = indicator_row(html, "total_time")
    assert 'class="fill" width="33.3"' in first and 'aria-hidden="true"' in first
    assert "hồ sơ" in first and "(6)" in first
    assert "phiếu đánh giá" in indicator_row(html, "agencies_contacted")
    assert "phản ánh" in indicator_row(html, "petitions_on_time")
    desk = indicator_row(html, "desk_organisation")
    assert "nhập" in desk and 'class="fill"' not in desk  # nothing entered: an empty bar

    saved = city.post(f"/console/a/{WARD}/tt01-inputs", {"period": PERIOD, **ENTERED})
    assert saved.status_code == 200, saved.text
    assert saved.url.params["saved"] == "tt01" and saved.url.fragment == "tt01-saved"
    html = saved.text
    assert text_of(html, "tt01-saved") == "Đã lưu chỉ tiêu 5, 6 và 9."
    # 37/6 + 2 + 1 + 2 = 67/6 ≈ 11.17, rounded down on screen: 11,16 / 18, "Đạt" (10..15).
    assert text_of(html, "tt01-total") == "11,16"
    assert re.search(r'id="tt01-total">11,16</span> <span class="muted">/ 18</span>', html)
    assert text_of(html, "tt01-class") == "Đạt"
    assert 'id="tt01-missing"' not in html
    # The only sibling with a total: first among the city's wards.
    assert text_of(html, "tt01-rank") == "Xếp hạng trong các đơn vị cùng cấp: 1"
    assert text_of(html, "tt01-5") == "2" and text_of(html, "tt01-6") == "1"
    assert 'class="fill" width="50.0"' in indicator_row(html, "public_posting")
    assert "Nhập lần cuối bởi test manager" in text_of(html, "tt01-entered-by")
    # The form shows what is entered now.
    assert re.search(r'name="public_posting">.*?<option value="1" selected>', html, re.S)
    # The K score's D and E are not touched by the TT 01 form.
    assert september.score(WARD, PERIOD)["e"] is None
    with db() as session:
        row = session.exec(select(PeriodInput)).one()
        assert row.indicators == {k: int(v) for k, v in ENTERED.items()}
        assert row.d is None and row.e is None
        [entry] = session.exec(select(AuditLog).where(AuditLog.action == "inputs.set")).all()
        assert entry.target == f"agency:{WARD}:{PERIOD}"
        assert entry.detail["after"]["indicators"] == row.indicators
        assert entry.actor.endswith("test manager")
    # Sent back as shown: nothing written, and the page says so rather than "saved" (audit).
    again = city.submit(f"/console/a/{WARD}/tt01-inputs", {})
    assert again.url.params["saved"] == "tt01-same" and 'id="tt01-saved"' not in again.text
    assert text_of(again.text, "tt01-unchanged") == (
        "Không có thay đổi nào để lưu: chỉ tiêu 5, 6 và 9 vẫn như đã lưu."
    )
    with db() as session:
        assert len(session.exec(select(AuditLog).where(AuditLog.action == "inputs.set")).all()) == 1

    # The city's page lists the ward's TT 01 total beside its K.
    city_page = city.get(f"/console/a/79?period={PERIOD}").text
    assert re.search(rf'data-tt01="{WARD}">11,16</td>', city_page)
    assert re.search(r'data-tt01="79.SGN">—</td>', city_page)  # nothing resolved there

    # In English: the profile's English names and class.
    english = city.get(PAGE + "&lang=en").text
    assert text_of(english, "tt01-total") == "11.16"
    assert text_of(english, "tt01-class") == "Satisfactory"
    assert "Public posting of the procedure" in english
    assert "Circular 01/2018" in english


def test_a_cleared_value_and_a_value_out_of_range(
    september: Office, console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    city = signed_in(console, make_key, "79")
    city.get(PAGE)
    city.post(f"/console/a/{WARD}/tt01-inputs", {"period": PERIOD, **ENTERED})
    wrong = city.post(
        f"/console/a/{WARD}/tt01-inputs", {"period": PERIOD, **ENTERED, "public_posting": "3"}
    )
    assert wrong.status_code == 422
    assert text_of(wrong.text, "err-tt01-public_posting") == "Chọn từ 0 đến 2 điểm, hoặc “Chưa có”."
    # The page opens on the summary of the problems, not at its top (pages audit).
    assert autofocused_alert(wrong.text) == "tt01-problems"
    [(field, name)] = fields_to_fix(wrong.text, "tt01-problems")
    assert (field, name) == ("tt01-field-public_posting", "6. Công khai thủ tục hành chính")
    assert f'id="{field}" name="public_posting"' in wrong.text
    assert re.search(
        r'name="public_posting" aria-describedby="[^"]+" aria-invalid="true"', wrong.text
    )
    with db() as session:
        assert session.exec(select(PeriodInput)).one().indicators == {
            "desk_organisation": 2,
            "public_posting": 1,
            "online_services": 2,
        }
    # "Chưa có" clears one: the total is missing again, and says which.
    city.get(PAGE)
    cleared = city.submit(f"/console/a/{WARD}/tt01-inputs", {"online_services": ""})
    assert cleared.status_code == 200
    assert text_of(cleared.text, "tt01-class") == "Chưa đủ dữ liệu"
    assert text_of(cleared.text, "tt01-missing").startswith("Còn thiếu chỉ tiêu: 9.")
    with db() as session:
        assert session.exec(select(PeriodInput)).one().indicators == {
            "desk_organisation": 2,
            "public_posting": 1,
        }


def test_a_form_with_a_bad_csrf_token_is_refused(
    september: Office, console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    city = signed_in(console, make_key, "79")
    city.get(PAGE)
    forged = city.post(
        f"/console/a/{WARD}/tt01-inputs", {"period": PERIOD, **ENTERED}, csrf="forged"
    )
    assert forged.status_code == 403
    with db() as session:
        assert session.exec(select(PeriodInput)).first() is None
        assert not session.exec(select(AuditLog).where(AuditLog.action == "inputs.set")).all()


def test_the_wards_own_manager_sees_the_values_but_cannot_enter_them(
    september: Office, console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    september.inputs(
        WARD, PERIOD, indicators={k: int(v) for k, v in ENTERED.items()}
    )  # by the admin, through the API
    ward = signed_in(console, make_key, WARD)
    page = ward.get(PAGE)
    assert page.status_code == 200
    assert text_of(page.text, "tt01-total") == "11,16"
    assert text_of(page.text, "tt01-5") == "2" and text_of(page.text, "tt01-9") == "2"
    assert "cán bộ quản lý của đơn vị cấp trên" in text_of(page.text, "tt01-refused")
    assert f'action="/console/a/{WARD}/tt01-inputs"' not in page.text  # no form to fill
    refused = ward.post(
        f"/console/a/{WARD}/tt01-inputs",
        {"period": PERIOD, "desk_organisation": "0", "public_posting": "0", "online_services": ""},
    )
    assert refused.status_code == 403
    assert "Ông/bà xem được điểm nhưng không nhập được." in text_of(refused.text, "tt01-refused")
    with db() as session:
        assert session.exec(select(PeriodInput)).one().indicators == {
            "desk_organisation": 2,
            "public_posting": 1,
            "online_services": 2,
        }


def test_indicators_entered_meanwhile_are_kept_and_one_changed_by_both_is_a_conflict(
    september: Office, console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(audit) The form sent 5, 6 and 9 back whichever the official changed: 6 and 9
    entered through the API while the page was open were put back to the page's. A field
    left as shown is not written; one changed by the official and meanwhile too is refused
    (409) with the value stored now, nothing saved."""
    action = f"/console/a/{WARD}/tt01-inputs"
    september.inputs(WARD, PERIOD, indicators={k: int(v) for k, v in ENTERED.items()})
    city = signed_in(console, make_key, "79")
    city.get(PAGE)
    september.inputs(WARD, PERIOD, indicators={"public_posting": 2, "online_services": 0})

    saved = city.submit(action, {"desk_organisation": "1"})  # the official corrects 5 only
    assert saved.status_code == 200 and saved.url.params["saved"] == "tt01", saved.text
    expected = {"desk_organisation": 1, "public_posting": 2, "online_services": 0}
    with db() as session:
        assert session.exec(select(PeriodInput)).one().indicators == expected

    september.inputs(WARD, PERIOD, indicators={"online_services": 1})
    refused = city.submit(action, {"online_services": "2"})  # 9 as the page had it: 0
    assert refused.status_code == 409
    assert autofocused_alert(refused.text) == "tt01-conflict"
    assert text_of(refused.text, "err-tt01-online_services") == (
        "Người khác đã đổi ô này trong lúc ông/bà sửa. Giá trị hiện tại: 1. Lưu lại sẽ thay "
        "bằng giá trị ông/bà nhập."
    )
    again = form_fields(refused.text, action)  # the official's 2 kept, 1 now as shown
    assert (again["online_services"], again["shown_online_services"]) == ("2", "1")
    with db() as session:
        assert session.exec(select(PeriodInput)).one().indicators == {
            **expected,
            "online_services": 1,
        }


QUARTER = {"desk_organisation": 2, "public_posting": 1, "online_services": 2}


def selected_option(html: str, key: str) -> str:
    """The text of the option the form's field for `key` shows."""
    field = re.search(rf'name="{key}">(.*?)</select>', html, re.S)
    assert field, key
    chosen = re.search(r"<option [^>]*selected>(.*?)</option>", field.group(1))
    assert chosen, key
    return chosen.group(1)


def empty_option(html: str, key: str) -> str:
    field = re.search(rf'name="{key}"[^>]*>(.*?)</select>', html, re.S)
    assert field, key
    empty = re.search(r'<option value=""[^>]*>(.*?)</option>', field.group(1))
    assert empty, key
    return empty.group(1)


def test_a_month_s_form_shows_the_quarter_s_values_it_is_scored_on(
    september: Office, console: ConsoleClient, make_key: KeyFactory
) -> None:
    """September with nothing of its own is scored on the quarter's 5, 6, 9: the card showed
    6 = 1 while the form showed "Chưa có" for all three (audit)."""
    september.inputs(WARD, "2025-Q3", indicators=QUARTER)
    html = signed_in(console, make_key, "79").get(PAGE).text
    assert text_of(html, "tt01-6") == "1" and text_of(html, "tt01-class") == "Đạt"
    assert "(theo 2025-Q3)" in indicator_row(html, "public_posting")
    assert text_of(html, "tt01-inherited") == (
        "Chỉ tiêu 5, 6, 9 chưa được nhập riêng cho kỳ này nên được tính theo giá trị đã nhập "
        "cho 2025-Q3."
    )
    # Each field shows the value the month is scored on, and where it comes from; left as
    # it is, it keeps following the quarter.
    assert selected_option(html, "public_posting") == "1 (theo 2025-Q3)"
    assert selected_option(html, "online_services") == "2 (theo 2025-Q3)"
    english = console.get(PAGE + "&lang=en").text
    assert selected_option(english, "public_posting") == "1 (from 2025-Q3)"
    assert text_of(english, "tt01-inherited").startswith("Indicators 5, 6, 9 have no value")


def test_a_year_s_card_and_form_show_its_quarters_mean(
    september: Office, console: ConsoleClient, make_key: KeyFactory
) -> None:
    """(audit) With 5, 6, 9 entered for every quarter, 2025's card read them as missing (no
    total, no class) and its form "Chưa có": a year is scored on its quarters' mean, and the
    card and the form say where that comes from."""
    for quarter, desk in (("2025-Q1", 2), ("2025-Q2", 1), ("2025-Q3", 2), ("2025-Q4", 2)):
        september.inputs(WARD, quarter, indicators={**QUARTER, "desk_organisation": desk})
    year = f"/console/a/{WARD}?period=2025"
    html = signed_in(console, make_key, "79").get(year).text
    assert 'id="tt01-missing"' not in html and text_of(html, "tt01-class") == "Đạt"
    assert text_of(html, "tt01-5") == "1,75"  # (2 + 1 + 2 + 2) ÷ 4
    assert "(theo 2025-Q1..Q4)" in indicator_row(html, "desk_organisation")
    assert text_of(html, "tt01-inherited").endswith("giá trị đã nhập cho 2025-Q1..Q4.")
    # The empty choice names the value it stands for exactly: 7/4, not a date.
    assert selected_option(html, "desk_organisation") == "1¾ (theo 2025-Q1..Q4)"
    assert selected_option(html, "public_posting") == "1 (theo 2025-Q1..Q4)"
    english = console.get(year + "&lang=en").text
    assert selected_option(english, "desk_organisation") == "1¾ (from 2025-Q1..Q4)"


def test_correcting_one_indicator_of_a_month_keeps_the_quarter_s_others(
    september: Office, console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """An official corrected 5 for September and saved the form as shown (6 and 9 "Chưa
    có"): the month had a set of its own, 6 and 9 became missing, and its total lost its
    class though nobody had cleared them (audit)."""
    september.inputs(WARD, "2025-Q3", indicators=QUARTER)
    city = signed_in(console, make_key, "79")
    form = city.get(PAGE).text
    # As the form shows them, 6 and 9 are sent empty: "as the quarter's".
    assert re.search(r'name="public_posting">\s*<option value="" selected>', form)
    saved = city.post(
        f"/console/a/{WARD}/tt01-inputs",
        {"period": PERIOD, "desk_organisation": "1", "public_posting": "", "online_services": ""},
    )
    assert saved.status_code == 200, saved.text
    html = saved.text
    # 37/6 + 1 (September's own 5) + 1 + 2 (the quarter's 6 and 9) = 61/6 ≈ 10.17: "Đạt".
    assert text_of(html, "tt01-total") == "10,16" and text_of(html, "tt01-class") == "Đạt"
    assert 'id="tt01-missing"' not in html
    assert text_of(html, "tt01-inherited").startswith("Chỉ tiêu 6, 9 chưa được nhập riêng")
    assert selected_option(html, "desk_organisation") == "1"
    # Emptied, September's own 5 would fall back to the quarter's: its empty choice says
    # so (it read "Chưa có", as if emptying it left 5 missing).
    assert (
        empty_option(html, "desk_organisation") == f"{QUARTER['desk_organisation']} (theo 2025-Q3)"
    )
    assert selected_option(html, "public_posting") == "1 (theo 2025-Q3)"
    assert tt_score(september, WARD, PERIOD)["missing"] == []
    with db() as session:
        month = session.exec(select(PeriodInput).where(PeriodInput.period == PERIOD)).one()
        assert month.indicators == {"desk_organisation": 1}  # the quarter's are not copied


def test_without_the_profile_beside_the_page_has_no_tt01(
    database_url: str, make_key: KeyFactory
) -> None:
    with TestClient(create_app(make_settings(database_url))) as client:
        office = Office(client, make_key)
        office.handover("D4", WARD, "2025-09-19T09:00:00+07:00", "2025-09-20T17:00:00+07:00")
        city = ConsoleClient(client)
        city.sign_in(raw_key(make_key("manager", "79")))
        page = city.get(PAGE)
        assert page.status_code == 200 and 'id="k-card"' in page.text
        assert 'id="tt01' not in page.text and "Thông tư 01/2018" not in page.text
        assert "tt01-inputs" not in page.text and "TT 01/2018" not in page.text
        children = city.get(f"/console/a/79?period={PERIOD}").text
        assert 'id="children"' in children and "data-tt01" not in children
        posted = city.post(f"/console/a/{WARD}/tt01-inputs", {"period": PERIOD, **ENTERED})
        assert posted.status_code == 404


def test_a_period_not_begun_offers_no_tt01_form_and_a_post_for_it_says_why(
    september: Office, console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """As for D and E (test_views.py): indicators 5, 6 and 9 of a period still to come."""
    city = signed_in(console, make_key, "79")
    page = city.get(f"/console/a/{WARD}?period=2099-12")
    assert f'action="/console/a/{WARD}/tt01-inputs"' not in page.text
    assert text_of(page.text, "tt01-unbegun") == (
        "Kỳ 2099-12 chưa bắt đầu (bắt đầu ngày 01/12/2099): chỉ tiêu 5, 6 và 9 của kỳ được "
        "nhập khi kỳ đã bắt đầu."
    )
    refused = city.post(f"/console/a/{WARD}/tt01-inputs", {"period": "2099-12", **ENTERED})
    assert refused.status_code == 422
    assert autofocused_alert(refused.text) == "tt01-unbegun"
    with db() as session:
        assert session.exec(select(PeriodInput)).first() is None
