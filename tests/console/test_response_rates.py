"""The console's "Tỉ lệ phản hồi" tab: the chart and the table per counter and staff member,
the flagged rows with their sentence, and an accessible structure."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import DbFactory, KeyFactory
from tests.console.conftest import ConsoleClient, raw_key
from tests.scoring.reach_seed import PERIOD, WARD, seed_reach

FLAG = (
    "Tỉ lệ phản hồi thấp hơn nhiều so với đơn vị — có thể phiếu khảo sát chưa được trao cho "
    "người dân"
)


@pytest.fixture
def page(
    console: ConsoleClient, client: TestClient, make_key: KeyFactory, db: DbFactory, agencies: None
) -> str:
    seed_reach(client, make_key, db)
    console.sign_in(raw_key(make_key("manager", WARD)))
    response = console.get(f"/console/a/{WARD}/response-rates", params={"period": PERIOD})
    assert response.status_code == 200, response.text
    return response.text


def _element(html: str, tag: str, element_id: str) -> str:
    found = re.search(rf'<{tag}[^>]*id="{element_id}"[^>]*>(.*?)</{tag}>', html, re.S)
    assert found, element_id
    return found.group(1)


def _row(html: str, key: str) -> str:
    found = re.search(rf'<(tr|li)[^>]*data-row="{key}"[^>]*>(.*?)</\1>', html, re.S)
    assert found, key
    return found.group(0)


def test_tab_shows_totals_chart_and_flag(page: str) -> None:
    assert 'aria-current="page">Tỉ lệ phản hồi</a>' in page
    assert '<select id="period" name="period">' in page  # the other tabs' period picker
    assert _element(page, "dd", "total-issued") == "50"
    assert _element(page, "dd", "total-rate") == "48 %"
    counters = _element(page, "ul", "counters-chart")
    # Q02: 5 of 25 = 20 %, under half the ward's 48 %: flagged, in words, not colour only.
    q02 = _row(counters, "Q02")
    assert 'class="flagged"' in q02 and FLAG in q02 and "20 %" in q02 and "(5/25)" in q02
    assert '<rect class="fill" width="20.0"' in q02 and 'd="M48.0 0V10"' in q02
    q01 = _row(counters, "Q01")
    assert FLAG not in q01 and "78,2 %" in q01  # 18 ÷ 23, one decimal, rounded down
    staff = _element(page, "ul", "staff-chart")
    assert FLAG in _row(staff, "CB3") and FLAG not in _row(staff, "CB1")
    assert "CB2" not in page  # two answers: folded, never named
    assert "Cán bộ khác (1 người, dưới 5 phiếu mỗi người)" in _row(staff, "other_staff")
    assert page.count(FLAG) == 2


def test_tables_have_headings_and_scoped_headers(page: str) -> None:
    assert re.search(r"<h1>Tỉ lệ phản hồi · 2025-Q3</h1>", page)
    headings = re.findall(r'<h2 id="([a-z]+)-title">', page)
    assert headings == ["counters", "staff", "channels"]
    for table_id in ("counters", "staff", "channels"):
        table = _element(page, "table", table_id)
        assert '<th scope="col">' in table and '<th scope="row">' in table
    counters = _element(page, "table", "counters")
    q02 = _row(counters, "Q02")
    assert 'class="flagged"' in q02 and "Cần xem lại" in q02
    assert re.findall(r'data-label="Tỉ lệ phản hồi">([^<]*)<', q02) == ["20 %"]
    channels = _element(page, "table", "channels")
    assert "Trực tuyến" in _row(channels, "online")
    assert 'aria-hidden="true"' in _element(page, "ul", "counters-chart")  # bars: text says it


def test_other_agencies_are_refused_and_english_works(page: str, console: ConsoleClient) -> None:
    other = console.get("/console/a/79.SGN/response-rates", params={"period": PERIOD})
    assert other.status_code == 403
    console.get("/console/lang/en", params={"next": f"/console/a/{WARD}/response-rates"})
    english = console.get(f"/console/a/{WARD}/response-rates", params={"period": PERIOD}).text
    assert "Response rate" in english and "48 %" in english
