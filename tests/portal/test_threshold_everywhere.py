"""A K just under the threshold never reads as the threshold on any page (README "Rounding":
rounded down, so that the figure never contradicts "không hài lòng"). Noise cleaning at 12
decimal places read 19.9999999999999 as 20 on every one of them (figures audit)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory
from tests.console.conftest import ConsoleClient, raw_key
from tests.scoring.test_worked_examples import Office

VN = "+07:00"
PERIOD = "2025-Q3"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_k_just_below_20_reads_19_99_beside_not_satisfied_everywhere(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    office = Office(client, make_key)
    for n in range(3):  # A = B = C = 1
        office.handover(f"T{n}", "79.BTH", f"2025-09-22T09:00:00{VN}", f"2025-09-23T17:00:00{VN}")
        office.answer(f"T{n}", "none", "good", "satisfied")
    # D entered by the competent authority; K = 3 + 15.9999999999999 + 1 < 20.
    office.inputs("79.BTH", PERIOD, d=15.9999999999999, e=1)
    score = office.score("79.BTH", PERIOD)
    assert score["k"] < 20 and score["group"] == "khong_hai_long"

    console = ConsoleClient(client)
    console.sign_in(raw_key(make_key("manager", "79")))
    shown = {
        "agency page": _text(client.get(f"/agencies/79.BTH?period={PERIOD}").text),
        "badge": _text(client.get(f"/badge/79.BTH.svg?period={PERIOD}").text),
        "embed": _text(client.get(f"/embed/agencies/79.BTH?period={PERIOD}").text),
        "rankings": _text(client.get(f"/rankings?period={PERIOD}&parent_code=79").text),
        "console": _text(console.get(f"/console/a/79.BTH?period={PERIOD}").text),
    }
    wrong = {name: text for name, text in shown.items() if "19,99" not in text}
    assert not wrong, "K shown as the threshold beside 'Không hài lòng' on: " + ", ".join(
        f"{name} ({re.search(r'.{0,40}Không hài lòng.{0,10}', text).group(0)!r})"  # type: ignore[union-attr]
        for name, text in wrong.items()
    )


@pytest.mark.parametrize("d", [15.99999999999996, 15.999999999999996])
def test_the_pages_print_the_exact_k_whose_float_cleans_up_to_20(
    client: TestClient, make_key: KeyFactory, agencies: None, d: float
) -> None:
    """K = 3 + 15.99999999999996 + 1 is below 20, but its float cleaned of binary noise at 15
    significant digits (service/numbers.py) is 20.0000000000000: the agency page, badge,
    widget and ranking read "20" beside "Không hài lòng", as a float cannot tell this K from
    2.9999999999999996, which must read 3. The pages now print the exact fraction the group
    was decided on (audit)."""
    office = Office(client, make_key)
    for n in range(3):  # A = B = C = 1
        office.handover(f"T{n}", "79.BTH", f"2025-09-22T09:00:00{VN}", f"2025-09-23T17:00:00{VN}")
        office.answer(f"T{n}", "none", "good", "satisfied")
    office.inputs("79.BTH", PERIOD, d=d, e=1)
    score = office.score("79.BTH", PERIOD)
    assert score["k"] < 20 and score["group"] == "khong_hai_long"

    page = client.get(f"/agencies/79.BTH?period={PERIOD}").text
    agency = _text(page)
    assert "K = 19,99 / 22 điểm ✗ Không hài lòng" in agency
    # The trend chart's point label and the plain words' D as well.
    values = re.findall(r'<text class="value"[^>]*>([^<]*)</text>', page)
    assert "19,99" in values and "20" not in values, values
    assert "D = 15,99" in agency and "D = 16" not in agency
    assert "Quý 3/2025 19,99 ✗ Không hài lòng" in agency  # the trend's table
    assert "D: Xử lý phản ánh, kiến nghị 15,99 / 18" in agency
    badge = _text(client.get(f"/badge/79.BTH.svg?period={PERIOD}").text)
    assert "K 19,99 ✗ Không hài lòng" in badge
    embed = _text(client.get(f"/embed/agencies/79.BTH?period={PERIOD}").text)
    assert "K = 19,99 / 22 ✗ Không hài lòng" in embed
    ranking = _text(client.get(f"/rankings?period={PERIOD}&parent_code=79").text)
    assert re.search(r"Phường Bến Thành\b.{0,80} 19,99 ✗ Không hài lòng 1 1 1 15,99 1", ranking)
