"""Staff scores and a month in which C rests on no answer at all (imports leaving
staff_attitude blank). S was withheld in that month (B with C), yet counted as shown for
the quarter: the quarter less August gave S's July B, and the agency's public July B less
it gave X's single answer (reach audit). A component no answer rests on is null and hides
nothing of the other: S's July B is shown in July, where the agency's B less it is X's one
answer, so S is hidden with others there, and so in the quarter."""

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


def _handled_and_answered(
    office: Office, n: int, who: str, day: str, at: str, answers: dict[str, Any]
) -> None:
    """Dossier H<n>, received, handled and returned by `who` on `day`, answered at `at`."""
    staff = {"receiving": who, "handling": who, "returning": who}
    office.handover(f"H{n}", "79.BTH", f"{day}T09:00:00{VN}", staff=staff)
    _answer(office, f"H{n}", at, answers)


def _people(office: Office, period: str) -> dict[str, dict[str, Any]]:
    """79.BTH's staff scores of `period`, by staff code."""
    r = office.client.get(f"/api/v1/agencies/79.BTH/staff-scores/{period}", headers=office.admin)
    assert r.status_code == 200, r.text
    return {s["staff_code"]: s for s in r.json()["data"]}


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
        _handled_and_answered(
            office, n, who, "2025-07-02", f"2025-{month:02d}-15T09:{n:02d}:00{VN}", answers
        )

    def people(period: str) -> dict[str, dict[str, Any]]:
        return _people(office, period)

    quarter, july = people("2025-Q3"), people("2025-07")
    assert july["X"]["withheld"]  # one answer
    assert july["S"]["hidden_with_others"]  # July's B less S's would be X's answer
    assert people("2025-08")["S"]["b"] == 1.0  # August alone is S's to show
    # The quarter would be July plus August: shown, July's B was the difference.
    assert (quarter["S"]["b"], quarter["S"]["c"], quarter["S"]["withheld"]) == (None, None, True)
    assert quarter["S"]["hidden_with_others"]


def test_a_month_whose_c_rests_on_no_answer_hides_nothing_else(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The first fix for the case above withheld anyone with such a month: a province that
    imported half a year without staff_attitude hid every officer's year (review). The only
    officer, B on 30 answers and C on 20, each month on 10: nothing to protect, shown."""
    office = Office(client, make_key)
    old = {"timeliness": "on_time", "supplement_requests": "none"}
    full = {**old, "staff_attitude": "good", "overall": "satisfied"}
    plan = [(7, old)] * 10 + [(8, full)] * 10 + [(9, full)] * 10
    for n, (month, answers) in enumerate(plan):
        staff = {"receiving": "S", "handling": "S", "returning": "S"}
        office.handover(f"H{n}", "79.BTH", f"2025-07-02T09:00:00{VN}", staff=staff)
        _answer(office, f"H{n}", f"2025-{month:02d}-15T09:{n:02d}:00{VN}", answers)
    scores = client.get("/api/v1/agencies/79.BTH/staff-scores/2025-Q3", headers=office.admin)
    [s] = scores.json()["data"]
    assert (s["b"], s["c"], s["withheld"], s["thin_month"]) == (1.0, 1.0, False, None)
    july = client.get("/api/v1/agencies/79.BTH/staff-scores/2025-07", headers=office.admin)
    [s] = july.json()["data"]
    assert (s["b"], s["c"], s["withheld"]) == (1.0, None, False)  # C: no answer, no figure


def test_a_b_resting_on_enough_answers_is_not_hidden_for_a_c_it_has_no_answer_in(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(audit) P's B rests on seven imported answers and P has none in C; Q has five full
    answers, X one. The agency's B and C less P's and Q's would be X's answer, so Q (the
    only shown C) is hidden with X: then the agency's B less P's is six answers, and P's B
    gives nothing away. Hiding the one with the fewest answers in either figure hid P
    first (0 in C, which mends nothing), then Q: P's B vanished from the manager's table,
    and from the quarter's and the year's."""
    office = Office(client, make_key)
    imported = {"timeliness": "on_time", "supplement_requests": "none"}
    full = {**imported, "staff_attitude": "good", "overall": "satisfied"}
    plan = [("P", imported)] * 7 + [("Q", full)] * 5 + [("X", {**full, "staff_attitude": "poor"})]
    for n, (who, answers) in enumerate(plan):
        _handled_and_answered(
            office, n, who, "2025-09-03", f"2025-09-10T09:{n:02d}:00{VN}", answers
        )

    def people(period: str) -> dict[str, dict[str, Any]]:
        return _people(office, period)

    for period in ("2025-09", "2025-Q3", "2025"):
        found = people(period)
        assert found["X"]["withheld"] and not found["X"]["hidden_with_others"], period
        assert found["Q"]["hidden_with_others"] and found["Q"]["c"] is None, period
        p = found["P"]
        assert (p["evaluations"], p["b_evaluations"], p["c_evaluations"]) == (7, 7, 0), period
        assert (p["withheld"], p["hidden_with_others"], p["b"], p["c"]) == (
            False,
            False,
            1.0,
            None,
        ), period
