"""Staff scores: a month in which a staff member is withheld because one of B and C rests on
no answer at all (an import leaving staff_attitude blank) counted as shown for the quarter
(0 was not "thin"): the quarter less August gave S's July B, and the agency's public July B
less it gave X's single answer (reach audit). Such a month hides the quarter's figures."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory
from tests.scoring.test_worked_examples import VN, Office

pytestmark = pytest.mark.usefixtures("agencies")


def _answer(office: Office, code: str, at: str, answers: dict[str, Any]) -> None:
    body = {"token": office.tokens[code], "submitted_at": at, "answers": answers}
    r = office.client.post("/api/v1/responses", json=body, headers=office.admin)
    assert r.status_code == 201, r.text


def test_a_month_whose_c_rests_on_no_answer_hides_the_quarter(
    client: TestClient, make_key: KeyFactory
) -> None:
    office = Office(client, make_key)
    plan: list[tuple[str, int, dict[str, Any]]] = []
    # S: July, five imported answers without staff_attitude (B answered, C blank).
    plan += [("S", 7, {"timeliness": "on_time", "supplement_requests": "none"})] * 5
    # S: August, five full answers.
    full = {
        "timeliness": "on_time",
        "supplement_requests": "none",
        "staff_attitude": "good",
        "overall": "satisfied",
    }
    plan += [("S", 8, full)] * 5
    # X: one answer in July (the one the minimum protects).
    plan += [
        (
            "X",
            7,
            {
                "timeliness": "on_time",
                "supplement_requests": "twice_or_more",
                "staff_attitude": "poor",
                "overall": "unsatisfied",
            },
        )
    ]
    # Y: four answers in September (withheld: keeps the quarter's remainder at 5).
    plan += [("Y", 9, full)] * 4
    for n, (who, month, answers) in enumerate(plan):
        staff = {"receiving": who, "handling": who, "returning": who}
        office.handover(f"H{n}", "79.BTH", f"2025-07-02T09:00:00{VN}", staff=staff)
        _answer(office, f"H{n}", f"2025-{month:02d}-15T09:{n:02d}:00{VN}", answers)

    def people(period: str) -> dict[str, dict[str, Any]]:
        r = client.get(f"/api/v1/agencies/79.BTH/staff-scores/{period}", headers=office.admin)
        assert r.status_code == 200, r.text
        return {s["staff_code"]: s for s in r.json()["data"]}

    quarter, july = people("2025-Q3"), people("2025-07")
    assert july["S"]["withheld"] and july["X"]["withheld"]  # C rests on none; one answer
    assert people("2025-08")["S"]["b"] == 1.0  # August alone is S's to show
    # The quarter would be July plus August: shown, July's B was the difference.
    assert (quarter["S"]["b"], quarter["S"]["c"], quarter["S"]["withheld"]) == (None, None, True)
    assert quarter["S"]["thin_month"] == "2025-07"
