"""A K just under the threshold never reads as the threshold on any page (README "Rounding":
rounded down, so that the figure never contradicts "không hài lòng"). Noise cleaning at 12
decimal places read 19.9999999999999 as 20 on every one of them (figures audit)."""

from __future__ import annotations

import re

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
