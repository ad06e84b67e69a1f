"""The public pages in their reader's words (public pages audit): "1 evaluations" on the
English widget and agency page; a D entered on 7 October written 07/10/2025 on the English
page (read there as 10 July); a year past 2100 told only the period's form; a right-to-left
override pasted into an agency's name turning the rest of the badge's label around.
Seeding goes straight into the day counters and period inputs, as
tests/portal/test_public_pages.py does."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from xml.dom.minidom import parseString

import pytest
from fastapi.testclient import TestClient

from service.admin.agencies import get_agency_by_code, upsert_agency
from service.models import PeriodInput
from tests.conftest import DbFactory
from tests.portal.test_public_pages import add_counts, evaluations, text

pytestmark = pytest.mark.usefixtures("agencies")
Q3 = "2025-Q3"


def _one_of_each(db: DbFactory) -> None:
    """G22.39 in Q3 2025: one resolved dossier, one evaluation, one petition."""
    add_counts(
        db,
        "G22.39",
        date(2025, 8, 1),
        resolved=1,
        a_on_time=1,
        petitions=1,
        **evaluations(1, 1, 1),
    )


# --- 1. English counts of one ------------------------------------------------------------------


def test_english_widget_says_1_evaluation_not_1_evaluations(
    client: TestClient, db: DbFactory
) -> None:
    _one_of_each(db)
    page = text(client.get(f"/embed/agencies/G22.39?period={Q3}&lang=en").text)
    assert "1 evaluation received" in page, page


def test_english_agency_page_tiles_are_singular_for_one(client: TestClient, db: DbFactory) -> None:
    _one_of_each(db)
    page = text(client.get(f"/agencies/G22.39?period={Q3}&lang=en").text)
    for words in ("1 dossier resolved", "1 evaluation received", "1 petition"):
        assert words in page, (words, page)


# --- 2. English dates ----------------------------------------------------------------------------


def test_english_agency_page_does_not_write_dates_day_first(
    client: TestClient, db: DbFactory
) -> None:
    entered = datetime(2025, 10, 7, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam, 7 October
    with db() as session:
        agency = get_agency_by_code(session, "79.BTH")
        assert agency is not None and agency.id is not None
        session.add(
            PeriodInput(
                agency_id=agency.id,
                period=Q3,
                d=17.5,
                e=1,
                set_by="key:1:Sở Nội vụ",
                set_at=entered,
                d_set_by="key:1:Sở Nội vụ",
                d_set_at=entered,
            )
        )
    vietnamese = text(client.get(f"/agencies/79.BTH?period={Q3}").text)
    assert "07/10/2025" in vietnamese  # right for Vietnamese: day first
    english = text(client.get(f"/agencies/79.BTH?period={Q3}&lang=en").text)
    assert "entered by Sở Nội vụ" in english
    assert "07/10/2025" not in english and "Oct 7, 2025" in english


# --- 3. a year outside 1900-2100 ---------------------------------------------------------------


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_year_past_2100_is_told_as_out_of_range_not_as_a_wrong_form(
    client: TestClient, lang: str
) -> None:
    response = client.get(f"/rankings?period=2101&lang={lang}")
    assert response.status_code == 422
    page = text(response.text)
    assert "2100" in page, page


# --- 4. bidi controls in an agency name ---------------------------------------------------------

_OPENERS = {"LRE", "RLE", "LRO", "RLO"}
_ISOLATES = {"LRI", "RLI", "FSI"}


def _open_bidi_after(prefix: str) -> int:
    """Embeddings/overrides and isolates still open at the end of `prefix` (UAX #9)."""
    embeddings = isolates = 0
    for char in prefix:
        kind = unicodedata.bidirectional(char)
        if kind in _OPENERS:
            embeddings += 1
        elif kind == "PDF" and embeddings:
            embeddings -= 1
        elif kind in _ISOLATES:
            isolates += 1
        elif kind == "PDI" and isolates:
            isolates -= 1
            embeddings = 0  # a PDI also closes the embeddings opened inside the isolate
    return embeddings + isolates


def test_a_right_to_left_override_in_a_name_does_not_reverse_the_rest_of_the_badge_label(
    client: TestClient, db: DbFactory
) -> None:
    with db() as session:
        upsert_agency(session, "79.RLO", "Phường \u202eABC", "79", actor="test")
    response = client.get(f"/badge/79.RLO.svg?period={Q3}")
    assert response.status_code == 200
    svg = parseString(response.content).documentElement
    assert svg is not None
    label = svg.getAttribute("aria-label")
    head, sep, _ = label.partition(": Chỉ số hài lòng")
    assert sep, label
    assert _open_bidi_after(head) == 0, f"bidi override still open after the name: {label!r}"


TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def test_a_right_to_left_override_in_a_parents_name_does_not_reverse_the_rankings_title(
    client: TestClient, db: DbFactory
) -> None:
    """(review) The rankings page's <title> too, and its sentences (vi(): <bdi>)."""
    with db() as session:
        upsert_agency(session, "79.RLO", "Phường \u202eABC", "79", actor="test")
        upsert_agency(session, "79.RLO.1", "Tổ dân phố 1", "79.RLO", actor="test")
    page = client.get("/rankings?period=2025-Q3&parent_code=79.RLO")
    assert page.status_code == 200, page.status_code
    found = TITLE.search(page.text)
    assert found is not None
    title = found.group(1)
    head, sep, _ = title.rpartition(" · ")  # up to the period's name
    assert sep, title
    assert _open_bidi_after(head) == 0, f"override still open before the period: {title!r}"
    assert '<bdi lang="vi">Phường \u202eABC</bdi>' in page.text
