"""Public score pages without a key: the ranking, an agency's page, the widget and the badge.

Scores are seeded straight into the day counters (what every score is read from) and the
period inputs, so that each agency's K can be worked out by hand next to the assertion.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import select

from service.admin.agencies import get_agency_by_code, upsert_agency
from service.app import create_app
from service.calendar.working_days import LOCAL_TZ
from service.models import Agency, AgencyDayCounter, PeriodInput, Staff
from service.periods import parse_period, period_containing
from service.portal import trend
from service.profile import load_profile
from service.scoring import service as scoring
from tests.conftest import DbFactory, KeyFactory, handover_body, make_settings

pytestmark = pytest.mark.usefixtures("agencies")
Q3 = "2025-Q3"
PAGES = (
    f"/rankings?period={Q3}",
    f"/agencies/79.BTH?period={Q3}",
    f"/embed/agencies/79.BTH?period={Q3}",
    f"/badge/79.BTH.svg?period={Q3}",
)


# --- seeding ---------------------------------------------------------------------------------


def add_counts(db: DbFactory, code: str, day: date, **counts: int) -> None:
    with db() as session:
        agency = get_agency_by_code(session, code)
        assert agency is not None and agency.id is not None
        row = session.get(AgencyDayCounter, (agency.id, day)) or AgencyDayCounter(
            agency_id=agency.id, day=day
        )
        for name, value in counts.items():
            setattr(row, name, getattr(row, name) + value)
        session.add(row)


def set_inputs(db: DbFactory, code: str, period: str, d: float | None, e: int | None) -> None:
    with db() as session:
        agency = get_agency_by_code(session, code)
        assert agency is not None and agency.id is not None
        session.add(PeriodInput(agency_id=agency.id, period=period, d=d, e=e, set_by="test"))


def evaluations(n: int, b_points: int, c_points: int) -> dict[str, int]:
    return {
        "evaluations": n,
        "b_answered": n,
        "b_points": b_points,
        "c_answered": n,
        "c_points": c_points,
    }


def seed_province(db: DbFactory) -> None:
    """Q3 2025 under province 79, worked by hand (K = A + B + C + D + E):
    - 79.BTH: A = 117/120, B = 38/40, C = 36/40, D = 17.5 (imported), E = 1
      → K = 0.975 + 0.95 + 0.9 + 17.5 + 1 = 21.325 → satisfied, rank 1.
    - 79.SGN: A = 50/50, B = 5/10, C = 4/10, D = 15, E = 1 → K = 17.9 → not satisfied, rank 2.
    - 79.STP: A = 30/30, no evaluations (B, C missing), D = 18, E = 1
      → K unknown, between 1 + 18 + 1 = 20 and 20 + 1 + 1 = 22.
    - G22.39: nothing at all → K unknown, between 0 and 22 (never shown as 0).
    79.BTH also has Q1 2024 data so that its trend reaches back.
    """
    add_counts(
        db,
        "79.BTH",
        date(2025, 8, 15),
        resolved=120,
        a_on_time=117,
        a_late_over=3,
        c_bad_dossiers=5,
        **evaluations(40, 38, 36),
    )
    set_inputs(db, "79.BTH", Q3, 17.5, 1)
    add_counts(db, "79.SGN", date(2025, 7, 2), resolved=50, a_on_time=50, **evaluations(10, 5, 4))
    set_inputs(db, "79.SGN", Q3, 15, 1)
    add_counts(db, "79.STP", date(2025, 9, 30), resolved=30, a_on_time=30)
    set_inputs(db, "79.STP", Q3, 18, 1)
    add_counts(db, "79.BTH", date(2024, 2, 1), resolved=10, a_on_time=10, **evaluations(4, 4, 4))
    set_inputs(db, "79.BTH", "2024-Q1", 16, 1)


# --- reading pages ---------------------------------------------------------------------------


class _Text(HTMLParser):
    """Text as shown on a phone, where CSS labels the ranking's cells: `data-l` before a
    value ("A 0,97"), "K = " before K."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.in_k = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("data-l"):
            self.parts.append(found["data-l"] or "")
        if tag == "td":
            self.in_k = found.get("class") == "k"
        if tag == "b" and self.in_k:
            self.parts.append("K =")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text(html: str) -> str:
    """The page's text as a reader sees it, whitespace collapsed."""
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def ranking_rows(html: str) -> list[tuple[str, str]]:
    """(group, text) of each ranking row, in page order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        (group, text(row))
        for group, row in re.findall(r'<tr class="g-(\w+)">(.*?)</tr>', body, re.S)
    ]


def names(html: str) -> list[str]:
    known = ["Phường Bến Thành", "Phường Sài Gòn", "Sở Tư pháp", "UBND Phường Tân Định"]
    return [next(n for n in known if n in row) for _, row in ranking_rows(html)]


def get(client: TestClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    body: str = response.text
    assert response.status_code == status, body[:500]
    return body


# --- the ranking -----------------------------------------------------------------------------


def test_ranking_orders_siblings_by_k_with_worded_groups_and_ranges(
    client: TestClient, db: DbFactory
) -> None:
    seed_province(db)
    html = get(client, f"/rankings?period={Q3}")  # no parent: the only province, 79
    assert "Các đơn vị thuộc Thành phố Hồ Chí Minh" in text(html)
    assert names(html) == [
        "Phường Bến Thành",
        "Phường Sài Gòn",
        "Sở Tư pháp",
        "UBND Phường Tân Định",
    ]
    (bth_group, bth), (sgn_group, sgn), (stp_group, stp), (g22_group, g22) = ranking_rows(html)
    assert bth_group == "hai_long" and bth.startswith("1 ")
    assert "K = 21,32" in bth and "✓ Hài lòng" in bth  # 21.325, shown rounded down
    assert "A 0,97" in bth and "D 17,5" in bth and "E 1" in bth
    assert "Số phiếu đánh giá: 40" in bth
    assert sgn_group == "khong_hai_long" and sgn.startswith("2 ")
    assert "K = 17,9" in sgn and "✗ Không hài lòng" in sgn
    # Missing data: no rank, a grey worded label, and the range K can still reach.
    assert stp_group == "chua_du_du_lieu" and "chưa xếp hạng" in stp
    assert "? Chưa đủ dữ liệu" in stp and "K có thể từ 20 đến 22" in stp
    assert "B — chưa có" in stp and "C — chưa có" in stp
    assert g22_group == "chua_du_du_lieu" and "K có thể từ 0 đến 22" in g22
    assert "K = 0" not in text(html)
    tally = text(html.split('<ul class="tally"', 1)[1].split("</ul>", 1)[0])
    assert "1 ✓ Hài lòng 1 ✗ Không hài lòng 2 ? Chưa đủ dữ liệu" in tally


def test_sorting_by_name_or_a_column_through_links_that_need_no_script(
    client: TestClient, db: DbFactory
) -> None:
    seed_province(db)
    by_name = get(client, f"/rankings?period={Q3}&parent_code=79&sort=name")
    assert names(by_name) == [
        "Phường Bến Thành",
        "Phường Sài Gòn",
        "Sở Tư pháp",
        "UBND Phường Tân Định",
    ]
    assert 'aria-sort="ascending"' in by_name
    by_c = get(client, f"/rankings?period={Q3}&parent_code=79&sort=c")
    # C: BTH 0.9, SGN 0.4, STP and G22.39 have none (last, in rank then name order).
    assert names(by_c)[:2] == ["Phường Bến Thành", "Phường Sài Gòn"]
    by_a = get(client, f"/rankings?period={Q3}&parent_code=79&sort=a")
    # A: SGN 1, STP 1, BTH 0.975, G22.39 none. Ties keep rank order (SGN is ranked, STP not).
    assert names(by_a) == [
        "Phường Sài Gòn",
        "Sở Tư pháp",
        "Phường Bến Thành",
        "UBND Phường Tân Định",
    ]
    assert ranking_rows(by_a)[0][1].startswith("2 ")  # the rank stays the rank by K
    for key in ("name", "a", "b", "c", "d", "e", "g5", "n"):
        assert f"/rankings?period={Q3}&amp;parent_code=79&amp;sort={key}" in by_a
    assert names(get(client, f"/rankings?period={Q3}&sort=bogus")) == names(
        get(client, f"/rankings?period={Q3}")
    )


def test_period_picker_defaults_to_the_current_quarter_in_ho_chi_minh(
    client: TestClient, db: DbFactory
) -> None:
    seed_province(db)
    today = datetime.now(LOCAL_TZ).date()
    current = period_containing(today, "quarter")
    html = get(client, "/rankings")
    assert f'<option value="{current.key}" selected>' in html
    form = html.split('<form class="picker" method="get" action="/rankings">', 1)[1]
    form = form.split("</form>", 1)[0]
    assert '<input type="hidden" name="parent_code" value="79">' in form
    for label in ("Theo quý", "Theo tháng", "Theo năm"):
        assert f'label="{label}"' in form
    assert f'value="{period_containing(today, "month").key}"' in form
    assert f'value="{today.year}"' in form
    # A period outside the offered ones is still offered, selected.
    assert '<option value="2025-Q3" selected>Quý 3/2025</option>' in get(
        client, f"/rankings?period={Q3}"
    )
    # A month shows that month only: BTH's data is in August, SGN's in July.
    august = get(client, "/rankings?period=2025-08")
    assert "Tháng 8/2025" in text(august)
    rows = dict((n, row) for n, (_, row) in zip(names(august), ranking_rows(august), strict=True))
    assert "Số phiếu đánh giá: 40" in rows["Phường Bến Thành"]
    assert "Số phiếu đánh giá: 0" in rows["Phường Sài Gòn"]


def test_the_ranking_of_a_parent_links_up_and_down_the_tree(
    client: TestClient, db: DbFactory
) -> None:
    with db() as session:
        upsert_agency(session, "79.BTH.1", "Tổ một cửa 1", "79.BTH", actor="test")
    top = get(client, f"/rankings?period={Q3}")
    assert f'href="/rankings?period={Q3}&amp;parent_code=79.BTH"' in top  # BTH has children
    below = get(client, f"/rankings?period={Q3}&parent_code=79.BTH")
    rows = ranking_rows(below)
    assert len(rows) == 1 and "Tổ một cửa 1" in rows[0][1]
    assert f'href="/rankings?period={Q3}&amp;parent_code=79"' in below  # back up
    get(client, f"/rankings?period={Q3}&parent_code=NOPE", status=404)


# --- the agency page -------------------------------------------------------------------------


def test_agency_page_explains_each_component_in_plain_words(
    client: TestClient, db: DbFactory
) -> None:
    seed_province(db)
    page = text(get(client, f"/agencies/79.BTH?period={Q3}"))
    assert "Phường Bến Thành" in page and "Quý 3/2025" in page
    assert "K = 21,32 / 22 điểm" in page and "✓ Hài lòng" in page
    assert "Xếp thứ 1 trong 2 đơn vị cùng cấp có đủ dữ liệu." in page
    assert "120 hồ sơ đã giải quyết 40 phiếu đánh giá đã nhận 0 phản ánh, kiến nghị" in page
    # What each part means, and why it is what it is.
    assert "Tỷ lệ hồ sơ trả kết quả đúng hẹn; hồ sơ trễ hơn 5 ngày làm việc" in page
    assert "117 trong 120 hồ sơ được giải quyết đúng hẹn." in page
    assert "3 trong 120 hồ sơ bị trễ hơn 5 ngày làm việc (không được điểm)." in page
    assert "2 trong 40 phiếu đánh giá cho biết phải bổ sung hồ sơ từ 2 lần trở lên." in page
    assert "36 trong 40 phiếu đánh giá thái độ cán bộ là tốt." in page
    # D typed in by hand is not said to come from the petition system.
    assert "D = 17,5, do test nhập ngày" in page
    assert "E = 1: thủ tục hành chính đã được niêm yết công khai." in page
    assert "5 trong 120 hồ sơ có đánh giá không hài lòng, bị phản ánh hoặc quá hạn." in page
    assert "Không có phản ánh, kiến nghị nào thuộc thẩm quyền trong kỳ." in page


def test_petition_sentences_count_what_the_group5_rates_count(
    client: TestClient, make_key: KeyFactory
) -> None:
    """Open petitions within their deadline were in the sentences' whole and open ones past
    it missing from the late: "1 of 3 on time" beside a rate a of 1 of 2 (audit)."""
    admin = make_key("admin")
    received = datetime.now(LOCAL_TZ).replace(microsecond=0) - timedelta(hours=3)
    later = (received + timedelta(hours=1)).isoformat()
    petitions = {
        "OK": {"handled_at": later, "citizen_verdict": "satisfied"},
        "OVER": {"deadline_at": later},  # open past its deadline: late
        "PEND": {},  # open within the default 15 working days: not scored yet
    }
    for code, facts in petitions.items():
        body = {"petition_code": code, "agency_code": "79.SGN", "received_at": received.isoformat()}
        answer = client.post("/api/v1/petitions", json=body | facts, headers=admin)
        assert answer.status_code == 201, answer.text
    period = period_containing(received.date(), "month").key
    score = client.get(f"/api/v1/agencies/79.SGN/scores/{period}", headers=admin).json()
    assert score["group5"]["petitions_on_time_rate"] == 0.5
    assert score["group5"]["petitions_satisfied_rate"] == 0.5
    page = text(get(client, f"/agencies/79.SGN?period={period}"))
    assert "1 trong 2 phản ánh, kiến nghị thuộc thẩm quyền được xử lý đúng hạn." in page
    assert (
        "1 trong 2 phản ánh, kiến nghị bị người dân không hài lòng, khiếu nại kết quả hoặc "
        "xử lý trễ hạn." in page
    )
    # Only a petition within its deadline: none scored yet, which is not "none received".
    body = {"petition_code": "PEND", "agency_code": "79.BTH", "received_at": received.isoformat()}
    assert client.post("/api/v1/petitions", json=body, headers=admin).status_code == 201
    page = text(get(client, f"/agencies/79.BTH?period={period}"))
    assert "Các phản ánh, kiến nghị của kỳ còn trong hạn xử lý: chưa được tính điểm." in page
    assert "Không có phản ánh, kiến nghị nào thuộc thẩm quyền" not in page


def test_a_dossier_overdue_by_its_supplements_is_not_said_to_be_late(
    database_url: str, make_key: KeyFactory
) -> None:
    """Under vn-766 a dossier sent back for supplements twice is overdue (A = 0) however
    early it was resolved; the page said "more than 5 working days late" of it (audit)."""
    settings = make_settings(database_url).model_copy(update={"scoring_profile": "vn-766"})
    with TestClient(create_app(settings)) as client:
        for code, supplements in (("W1", 2), ("W2", 0)):
            body = handover_body(
                dossier_code=code,
                agency_code="79.BTH",
                due_at="2025-09-16T17:00:00+07:00",
                resolved_at="2025-09-15T10:00:00+07:00",
                supplement_requests=supplements,
            )
            posted = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
            assert posted.status_code == 201, posted.text
        page = text(get(client, "/agencies/79.BTH?period=2025-09"))
    assert "1 trong 2 hồ sơ được giải quyết đúng hẹn." in page
    assert (
        "1 trong 2 hồ sơ bị trễ hơn 5 ngày làm việc hoặc phải bổ sung từ 2 lần trở lên "
        "(không được điểm)." in page
    )


def test_agency_trend_covers_8_quarters_or_12_months_with_a_table_for_screen_readers(
    client: TestClient, db: DbFactory
) -> None:
    seed_province(db)
    html = get(client, f"/agencies/79.BTH?period={Q3}")
    assert 'role="img" aria-labelledby="trend-t trend-d"' in html
    table = text(html.split('<table class="trend-table">', 1)[1].split("</table>", 1)[0])
    quarters = re.findall(r"Quý \d/\d{4}", table)
    assert quarters == [
        "Quý 3/2025",
        "Quý 2/2025",
        "Quý 1/2025",
        "Quý 4/2024",
        "Quý 3/2024",
        "Quý 2/2024",
        "Quý 1/2024",
        "Quý 4/2023",
    ]
    # Q1 2024: A 1, B 1, C 1, D 16, E 1 → K 20.
    assert "Quý 3/2025 21,32 ✓ Hài lòng 40" in table
    assert "Quý 1/2024 20 ✓ Hài lòng 4" in table
    assert "Quý 2/2025 — Không có số liệu 0" in table
    months = get(client, "/agencies/79.BTH?period=2025-08")
    month_table = months.split('<table class="trend-table">', 1)[1].split("</table>", 1)[0]
    assert len(re.findall(r"Tháng \d+/\d{4}", text(month_table))) == 12
    assert "Diễn biến K qua 12 tháng gần đây" in text(months)


@pytest.mark.parametrize(
    ("evaluations", "written"),
    [
        (12_000, ["0", "5.000", "10.000", "15.000"]),  # was "5000", "10000"
        (1_200_000, ["0", "500.000", "1.000.000", "1.500.000"]),  # was "1e+06"
        (1, ["0", "1"]),  # was "0", "0.5", "1": no half an evaluation
    ],
)
def test_the_evaluations_chart_axis_writes_whole_counts_the_page_s_way(
    client: TestClient, db: DbFactory, evaluations: int, written: list[str]
) -> None:
    """The bar chart of evaluations wrote its y axis with Python's `:g` beside counts the
    page writes the Vietnamese way: "10000", "1e+06", and a step of 0.5 for one evaluation
    (audit)."""
    add_counts(db, "79.BTH", date(2025, 8, 4), evaluations=evaluations)
    html = get(client, f"/agencies/79.BTH?period={Q3}")
    chart = html[html.index('class="chart bar-chart"') :]
    axis = chart[: chart.index('<line class="base"')]
    labels = re.findall(r'text-anchor="end" dy="0.35em">([^<]*)</text>', axis)
    assert labels == written


def test_missing_data_says_what_is_missing_and_the_range_never_a_zero(
    client: TestClient, db: DbFactory
) -> None:
    seed_province(db)
    stp = text(get(client, f"/agencies/79.STP?period={Q3}"))
    assert "K chưa tính được" in stp and "? Chưa đủ dữ liệu" in stp
    assert "K có thể từ 20 đến 22" in stp
    assert "Còn thiếu: B (bổ sung hồ sơ), C (thái độ cán bộ)" in stp
    # 20 is satisfied under this profile: whatever B and C turn out to be, STP is satisfied.
    assert "Dù phần còn thiếu bằng 0, K vẫn đạt ngưỡng hài lòng." in stp
    assert "Chưa có phiếu đánh giá nào về thái độ cán bộ." in stp
    empty = text(get(client, f"/agencies/G22.39?period={Q3}"))
    assert "K có thể từ 0 đến 22" in empty
    assert "Chưa có hồ sơ nào được giải quyết trong kỳ này." in empty
    assert "Chưa có điểm E: cơ quan có thẩm quyền nhập vào cuối kỳ." in empty
    for page in (stp, empty):
        assert "K = 0" not in page and "K = " not in page
    badge = get(client, f"/badge/79.STP.svg?period={Q3}")
    assert "Chưa đủ dữ liệu · K 20–22" in badge and "K 0" not in badge
    assert "K có thể từ 20 đến 22" in text(get(client, f"/embed/agencies/79.STP?period={Q3}"))


# --- languages -------------------------------------------------------------------------------


def test_english_switch_keeps_the_page_and_carries_the_language_along(
    client: TestClient, db: DbFactory
) -> None:
    seed_province(db)
    vi = get(client, f"/rankings?period={Q3}")
    assert '<html lang="vi">' in vi
    assert f'href="/rankings?period={Q3}&amp;lang=en" hreflang="en"' in vi
    en = get(client, f"/rankings?period={Q3}&lang=en")
    assert '<html lang="en">' in en and "Satisfaction ranking" in en
    assert "✓ Satisfied" in text(en) and "K can still be anywhere from 20 to 22" in text(en)
    assert "K = 21.32" in text(en)  # a decimal point in English
    assert f'href="/agencies/79.BTH?period={Q3}&amp;lang=en"' in en
    assert '<input type="hidden" name="lang" value="en">' in en
    assert f'href="/rankings?period={Q3}" hreflang="vi"' in en
    page = text(get(client, f"/agencies/79.BTH?period={Q3}&lang=en"))
    assert "Late past the grace of 5 working day(s), worth nothing: 3 of 120 dossiers." in page
    assert "Q3 2025" in page
    assert "Satisfied" in get(client, f"/badge/79.BTH.svg?period={Q3}&lang=en")
    embed = get(client, f"/embed/agencies/79.BTH?period={Q3}&lang=en")
    assert '<html lang="en">' in embed and "See details" in embed


def test_the_widget_names_its_agency_in_its_one_heading(client: TestClient, db: DbFactory) -> None:
    """The widget's agency name was a bold paragraph: the page in the iframe had no heading
    at all (axe page-has-heading-one), so a screen reader's list of headings was empty and
    gave no way to jump to it. The name is now the page's one <h1>, in both languages."""
    seed_province(db)
    for lang in ("", "&lang=en"):
        embed = get(client, f"/embed/agencies/79.BTH?period={Q3}{lang}")
        assert re.findall(r"<h1\b[^>]*>(.*?)</h1>", embed, re.S) == ["Phường Bến Thành"]


# --- HTTP: caching and headers ---------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_public_responses_carry_etag_and_cache_control_and_answer_304(
    client: TestClient, db: DbFactory, url: str
) -> None:
    seed_province(db)
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "public, max-age=60"
    assert first.headers["x-content-type-options"] == "nosniff"
    tag = first.headers["etag"]
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    add_counts(db, "79.BTH", date(2025, 9, 1), **evaluations(10, 0, 0))  # K 21.32 → 20.95
    changed = client.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def test_frames_and_origins_pages_deny_widget_and_badge_allow(
    client: TestClient, db: DbFactory
) -> None:
    seed_province(db)
    ranking, agency, embed, badge = (client.get(url) for url in PAGES)
    for page in (ranking, agency):
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "script-src" not in page.headers["content-security-policy"]  # none at all
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "frame-ancestors *" in embed.headers["content-security-policy"]
    assert "x-frame-options" not in embed.headers
    assert badge.headers["content-type"] == "image/svg+xml"
    assert badge.headers["cross-origin-resource-policy"] == "cross-origin"
    assert badge.text.startswith("<svg") and "K 21,32 ✓ Hài lòng" in badge.text
    compressed = client.get(PAGES[0], headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert compressed.text == ranking.text  # decoded by the client


def test_unknown_agency_or_period_gets_a_page_that_says_so(client: TestClient) -> None:
    assert "Không có cơ quan nào có mã NOPE" in get(client, "/agencies/NOPE", status=404)
    assert "Kỳ đánh giá có dạng" in get(client, "/rankings?period=2025-Q9", status=422)
    assert "không tìm thấy cơ quan" in get(client, "/badge/NOPE.svg", status=404)
    assert "Agency not found" in get(client, "/embed/agencies/NOPE?lang=en", status=404)
    # The widget's own refusals may be framed as the widget is (an agency site with a typo
    # in its iframe saw the browser's refusal instead of this); the pages' may not.
    for path in ("/embed/agencies/NOPE", "/embed/agencies/79?period=x"):
        refused = client.get(path)
        assert refused.status_code in (404, 422)
        assert "x-frame-options" not in refused.headers, path
        assert "frame-ancestors *" in refused.headers["content-security-policy"], path
    page = client.get("/agencies/NOPE")
    assert page.headers["x-frame-options"] == "DENY"


def links(html: str) -> list[tuple[str, bool]]:
    """Each link of a page leading elsewhere: (its href, whether it opens outside a frame)."""
    found = []
    for attributes in re.findall(r"<a\b([^>]*)>", html):
        href = re.search(r'href="([^"]+)"', attributes)
        if href is not None and not href.group(1).startswith("#"):
            leaves = 'target="_blank"' in attributes and 'rel="noopener"' in attributes
            found.append((href.group(1), leaves))
    return found


def test_links_of_the_widgets_problem_page_open_outside_its_frame(client: TestClient) -> None:
    """The widget's "unknown agency" page is framed by the agency's site, but its links
    (the brand, "Xem bảng xếp hạng") opened /rankings inside the frame, which /rankings
    refuses (X-Frame-Options DENY): a click showed the browser's refusal after all. They now
    open in a new tab, as the widget's own link does; the unframed pages' do not (audit)."""
    for path in ("/embed/agencies/79.TYPO", "/embed/agencies/79?period=x"):
        refused = client.get(path)
        assert "frame-ancestors *" in refused.headers["content-security-policy"], path
        for href, leaves in links(refused.text):
            never_framed = client.get(href).headers.get("x-frame-options") == "DENY"
            assert leaves or not never_framed, (path, href)
        assert ("/rankings", True) in links(refused.text), path
    page = client.get("/agencies/79.TYPO")
    assert ("/rankings", False) in links(page.text)
    assert 'target="_blank"' not in page.text


# --- privacy ---------------------------------------------------------------------------------

SECRETS = (
    "CB-BIMAT-01",
    "CB-BIMAT-02",
    "Nguyễn Văn Bí Mật",
    "Cán bộ đòi bồi dưỡng 500 nghìn",
    "0909123456",
    "Ghi chú nội bộ không công khai",
    "G22.39-SECRET-0001",
)


def test_public_pages_show_agency_figures_only_never_staff_or_free_text(
    client: TestClient, db: DbFactory, make_key: KeyFactory
) -> None:
    issuer, admin = make_key("issuer"), make_key("admin")
    body = handover_body(
        dossier_code="G22.39-SECRET-0001",
        staff={"receiving": "CB-BIMAT-01", "handling": "CB-BIMAT-02", "returning": "CB-BIMAT-01"},
    )
    issued = client.post("/api/v1/handovers", json=body, headers=issuer)
    assert issued.status_code == 201, issued.text
    with db() as session:
        for staff in session.exec(select(Staff)).all():
            staff.display_name = "Nguyễn Văn Bí Mật"
            session.add(staff)
    answer = {
        "token": issued.json()["survey_url"].rsplit("/", 1)[1],
        "submitted_at": "2025-09-16T09:00:00+07:00",
        "source": "api",
        "answers": {
            "timeliness": "late",
            "supplement_requests": "none",
            "staff_attitude": "poor",
            "overall": "unsatisfied",
            "complaint": "Cán bộ đòi bồi dưỡng 500 nghìn",
        },
        "contact": "0909123456",
        "contact_consent": True,
    }
    answered = client.post("/api/v1/responses", json=answer, headers=admin)
    assert answered.status_code == 201, answered.text
    put = client.put(
        f"/api/v1/agencies/G22.39/periods/{Q3}/inputs",
        json={"e": 1, "note": "Ghi chú nội bộ không công khai"},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    urls = [
        f"/rankings?period={Q3}",
        f"/agencies/G22.39?period={Q3}",
        f"/embed/agencies/G22.39?period={Q3}",
        f"/badge/G22.39.svg?period={Q3}",
    ]
    for url in urls + [f"{u}&lang=en" for u in urls]:
        page = get(client, url)
        leaked = [s for s in SECRETS if s in page]
        assert leaked == [], f"{url} shows {leaked}"
    # The figures themselves are there: one evaluation, counted at agency level.
    agency = text(get(client, f"/agencies/G22.39?period={Q3}"))
    assert "0 trong 1 phiếu đánh giá thái độ cán bộ là tốt." in agency
    # The evaluation's complaint is feedback to the ward, not a national-channel petition.
    assert "1 phản ánh, kiến nghị" not in agency


# --- the trend query -------------------------------------------------------------------------


def test_trend_reads_8_quarters_in_three_queries_and_matches_the_scores(
    db: DbFactory,
) -> None:
    seed_province(db)
    profile = load_profile("hcmc-104-2024")
    periods = trend.trend_periods(parse_period(Q3), date(2025, 10, 1))
    assert periods[0].key == "2023-Q4" and periods[-1].key == Q3
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with db() as session:
        agency = get_agency_by_code(session, "79.BTH")
        assert agency is not None and agency.id is not None
        bind = session.get_bind()
        event.listen(bind, "before_cursor_execute", count)
        try:
            points = trend.trend(session, agency.id, periods, profile)
        finally:
            event.remove(bind, "before_cursor_execute", count)
        # One query over the counters, one over the open petitions past their deadline,
        # one over the period inputs: not one per quarter.
        assert len(statements) == 3, statements
        assert "GROUP BY" in statements[0] and "agency_day_counter" in statements[0]
        assert "petition" in statements[1]
        for point in points:
            expected = scoring.scores(session, [agency], point.period, profile)[0]
            k = point.computed.k
            assert (float(k) if k is not None else None) == expected.k, point.period.key
            assert float(point.computed.k_min) == expected.k_min
            assert point.computed.counts["evaluations"] == expected.counts.evaluations


def test_the_snippets_stay_valid_html_for_an_agency_name_with_quotes(
    client: TestClient, db: DbFactory
) -> None:
    """(audit) The snippets an agency copies put its name in an attribute (the badge's alt,
    the iframe's title). A name with a double quote closed the attribute early: the pasted
    iframe had a title cut short and stray attributes. The copied text holds it escaped."""
    seed_province(db)
    quoted = 'Trung tâm "Một cửa" & <Hành chính>'
    with db() as session:
        agency = session.exec(select(Agency).where(Agency.code == "79.BTH")).one()
        agency.name = quoted
        session.add(agency)
    page = get(client, f"/agencies/79.BTH?period={Q3}")
    for snippet_id, tag, attribute in (
        ("snippet-badge", "img", "alt"),
        ("snippet-embed", "iframe", "title"),
    ):
        found = re.search(rf'<textarea id="{snippet_id}"[^>]*>(.*?)</textarea>', page, re.S)
        assert found, snippet_id
        copied = html.unescape(found.group(1))  # what the agency copies and pastes
        pasted = TagAttributes(tag)
        pasted.feed(copied)
        assert pasted.seen.get(attribute) == f"Chỉ số hài lòng của {quoted}", copied
        assert set(pasted.seen) <= {"src", "href", "alt", "title", "width", "height", "style"}


class TagAttributes(HTMLParser):
    """The attributes of the last `tag` in the HTML fed, as a browser parses them."""

    def __init__(self, tag: str) -> None:
        super().__init__()
        self.tag, self.seen = tag, dict[str, str | None]()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == self.tag:
            self.seen = dict(attrs)
