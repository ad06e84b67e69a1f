"""Scores worked out by hand from the rules (DESIGN.md, profile hcmc-104-2024), loaded
through the public API. The arithmetic is written next to each assertion.

Calendar facts used (Vietnam, holidays package): Mon 1/9/2025 and Tue 2/9/2025 are
National Day holidays; 30-31/8 and 6-7/9, 13-14/9 are weekends.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.profile import PROFILES_DIR, load_profile
from service.scoring.explain import formulas
from tests.conftest import KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")
VN = "+07:00"
RECEIVED = f"2025-07-01T08:00:00{VN}"


class Office:
    """Drives the public API the way a one-stop system, citizens and an admin would."""

    def __init__(self, client: TestClient, make_key: KeyFactory) -> None:
        self.client = client
        self.issuer = make_key("issuer")
        self.admin = make_key("admin")
        self.tokens: dict[str, str] = {}

    def handover(
        self, code: str, agency: str, resolved: str, due: str | None = None, **extra: Any
    ) -> None:
        body = handover_body(
            dossier_code=code,
            agency_code=agency,
            received_at=RECEIVED,
            due_at=due,
            resolved_at=resolved,
            handed_over_at=None,
            **extra,
        )
        response = self.client.post("/api/v1/handovers", json=body, headers=self.issuer)
        assert response.status_code in (200, 201), response.text
        self.tokens[code] = response.json()["survey_url"].rsplit("/", 1)[1]

    def answer(
        self,
        code: str,
        supplements: str,
        attitude: str,
        overall: str,
        at: str = f"2025-09-20T09:00:00{VN}",
    ) -> None:
        body = {
            "token": self.tokens[code],
            "submitted_at": at,
            "source": "api",
            "answers": {
                "timeliness": "on_time",
                "supplement_requests": supplements,
                "staff_attitude": attitude,
                "overall": overall,
            },
        }
        response = self.client.post("/api/v1/responses", json=body, headers=self.admin)
        assert response.status_code == 201, response.text

    def petition(self, code: str, agency: str, **fields: Any) -> None:
        body = {"petition_code": code, "agency_code": agency, **fields}
        response = self.client.post("/api/v1/petitions", json=body, headers=self.admin)
        assert response.status_code in (200, 201), response.text

    def inputs(self, agency: str, period: str, **values: Any) -> dict[str, Any]:
        response = self.client.put(
            f"/api/v1/agencies/{agency}/periods/{period}/inputs", json=values, headers=self.admin
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def score(self, agency: str, period: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/agencies/{agency}/scores/{period}", headers=self.admin)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def explain(self, agency: str, period: str) -> dict[str, Any]:
        response = self.client.get(
            f"/api/v1/agencies/{agency}/scores/{period}/explain", headers=self.admin
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


def close(value: float | None, expected: Fraction | float) -> bool:
    return value is not None and abs(value - float(expected)) < 1e-12


def seed_ben_thanh(office: Office) -> None:
    # D1: due Fri 29/8, resolved Wed 3/9. Working days after 29/8 up to 3/9: 30-31/8
    #     weekend, 1/9 and 2/9 holidays, 3/9 → 1 working day late (3 without the holiday).
    office.handover("D1", "79.BTH", f"2025-09-03T10:00:00{VN}", f"2025-08-29T17:00:00{VN}")
    # D2: due Mon 8/9, resolved Mon 15/9: 9, 10, 11, 12, 15/9 → exactly 5 working days.
    office.handover("D2", "79.BTH", f"2025-09-15T09:00:00{VN}", f"2025-09-08T17:00:00{VN}")
    # D3: due Mon 8/9, resolved Tue 16/9: 9, 10, 11, 12, 15, 16/9 → 6 working days.
    office.handover("D3", "79.BTH", f"2025-09-16T09:00:00{VN}", f"2025-09-08T17:00:00{VN}")
    # D4: resolved a day before it was due → on time.
    office.handover("D4", "79.BTH", f"2025-09-19T09:00:00{VN}", f"2025-09-20T17:00:00{VN}")
    # D5: no due time → on time.
    office.handover("D5", "79.BTH", f"2025-09-22T09:00:00{VN}")
    # D6: 17:30 UTC on 30/9 is 00:30 on 1/10 in Hồ Chí Minh City → October, not Q3.
    office.handover("D6", "79.BTH", "2025-09-30T17:30:00+00:00")


def test_timeliness_across_the_national_day_holiday_and_the_5_day_line(
    client: TestClient, make_key: KeyFactory
) -> None:
    office = Office(client, make_key)
    seed_ben_thanh(office)
    rows = {r["dossier_code"]: r for r in office.explain("79.BTH", "2025-09")["dossiers"]["rows"]}
    assert set(rows) == {"D1", "D2", "D3", "D4", "D5"}  # D6 is October's
    assert (rows["D1"]["overdue_working_days"], rows["D1"]["bucket"]) == (1, "late_within_grace")
    assert (rows["D2"]["overdue_working_days"], rows["D2"]["bucket"]) == (5, "late_within_grace")
    assert (rows["D3"]["overdue_working_days"], rows["D3"]["bucket"]) == (6, "late_over")
    assert rows["D4"]["bucket"] == rows["D5"]["bucket"] == "on_time"
    # A = (D4 + D5 on time: 2 × 1, D1 + D2 within grace: 2 × 0, D3: 0) ÷ 5 = 0.4
    score = office.score("79.BTH", "2025-09")
    assert close(score["a"], Fraction(2, 5))
    assert score["counts"]["resolved_dossiers"] == 5
    october = office.score("79.BTH", "2025-10")
    assert october["a"] == 1.0 and october["counts"]["resolved_dossiers"] == 1


def test_grace_points_from_an_operator_profile(
    database_url: str, tmp_path: Path, make_key: KeyFactory
) -> None:
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    profile = tmp_path / "grace.toml"
    profile.write_text(
        text.replace("late_within_grace_points = 0.0", "late_within_grace_points = 0.5"),
        encoding="utf-8",
    )
    from tests.conftest import make_settings

    settings = make_settings(database_url).model_copy(update={"scoring_profile": str(profile)})
    with TestClient(create_app(settings)) as client:
        office = Office(client, make_key)
        seed_ben_thanh(office)
        # A = (2 on time × 1 + D1, D2 within grace × 0.5 + D3 × 0) ÷ 5 = 3 ÷ 5 = 0.6
        assert close(office.score("79.BTH", "2025-09")["a"], Fraction(3, 5))
        # Saturday 13/9 declared a make-up working day: D2 is now 9, 10, 11, 12, 13, 15/9
        # = 6 working days late (over the line); D3 becomes 7. D1 (3/9) is untouched.
        response = client.put(
            "/api/v1/calendar/overrides/2025-09-13",
            json={"working": True, "note": "Làm bù"},
            headers=office.admin,
        )
        assert response.status_code == 200
        assert response.json()["dossiers_rescored"] == 2
        rows = {
            r["dossier_code"]: r for r in office.explain("79.BTH", "2025-09")["dossiers"]["rows"]
        }
        assert (rows["D2"]["overdue_working_days"], rows["D2"]["bucket"]) == (6, "late_over")
        assert rows["D3"]["overdue_working_days"] == 7
        # A = (2 × 1 + D1 × 0.5) ÷ 5 = 2.5 ÷ 5 = 0.5
        assert close(office.score("79.BTH", "2025-09")["a"], Fraction(1, 2))
        # Taking the make-up day back restores 0.6.
        client.put(
            "/api/v1/calendar/overrides/2025-09-13", json={"working": False}, headers=office.admin
        )
        assert close(office.score("79.BTH", "2025-09")["a"], Fraction(3, 5))


@pytest.mark.parametrize("unanswered", ["not_counted", "zero_points"])
def test_an_imported_evaluation_without_b_and_c_answers_follows_the_profile(
    database_url: str, tmp_path: Path, make_key: KeyFactory, unanswered: str
) -> None:
    """The text divides B and C by "evaluations"; an older system's evaluation may not have
    asked the questions. Which evaluations count was chosen in code, silently (audit); it
    is the profile's `unanswered_question` now."""
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    profile = tmp_path / "unanswered.toml"
    chosen = f'unanswered_question = "{unanswered}"'
    profile.write_text(text.replace('unanswered_question = "not_counted"', chosen), "utf-8")
    from tests.conftest import make_settings

    settings = make_settings(database_url).model_copy(update={"scoring_profile": str(profile)})
    with TestClient(create_app(settings)) as client:
        office = Office(client, make_key)
        office.handover("U1", "79.BTH", f"2025-09-03T10:00:00{VN}")
        office.handover("U2", "79.BTH", f"2025-09-04T10:00:00{VN}")
        office.handover("U3", "79.SGN", f"2025-09-04T10:00:00{VN}")
        office.answer("U1", "none", "good", "satisfied")  # B 1, C 1
        for code in ("U2", "U3"):  # an import that asked only for the overall verdict
            body = {
                "token": office.tokens[code],
                "submitted_at": f"2025-09-20T09:00:00{VN}",
                "answers": {"overall": "satisfied"},
            }
            posted = client.post("/api/v1/responses", json=body, headers=office.admin)
            assert posted.status_code == 201, posted.text
        both, alone = office.score("79.BTH", "2025-09"), office.score("79.SGN", "2025-09")
        assert both["counts"]["evaluations"] == alone["counts"]["evaluations"] + 1 == 2
        if unanswered == "not_counted":
            # B = C = 1 ÷ 1 (U2 is out); U3 alone answers neither: B and C are missing.
            assert both["b"] == both["c"] == 1
            assert alone["b"] is None and alone["c"] is None
            assert {"b", "c"} <= set(alone["missing"])
        else:
            # B = C = 1 ÷ 2 (U2 earns 0 points); U3 alone: B = C = 0 ÷ 1.
            assert close(both["b"], Fraction(1, 2)) and close(both["c"], Fraction(1, 2))
            assert alone["b"] == alone["c"] == 0
            assert not {"b", "c"} & set(alone["missing"])
        formula = office.explain("79.BTH", "2025-09")["formulas"]["b"]
        assert formula.endswith("0 points)" if unanswered == "zero_points" else "the question")


def test_b_and_c_points_from_an_operator_profile(
    database_url: str, tmp_path: Path, make_key: KeyFactory
) -> None:
    """B's and C's point per evaluation are profile constants, as A's is: the scores, K's
    range, the public page's maximum and the export's header all follow them."""
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    profile = tmp_path / "points.toml"
    text = text.replace("few_supplements_points = 1.0", "few_supplements_points = 0.5")
    profile.write_text(text.replace("good_attitude_points = 1.0", "good_attitude_points = 0.25"))
    from tests.conftest import make_settings

    settings = make_settings(database_url).model_copy(update={"scoring_profile": str(profile)})
    with TestClient(create_app(settings)) as client:
        office = Office(client, make_key)
        seed_ben_thanh(office)
        office.answer("D4", "none", "good", "satisfied")  # B point, C point
        office.answer("D5", "twice_or_more", "normal", "satisfied")  # neither
        score = office.score("79.BTH", "2025-09")
        # B = 1 evaluation × 0.5 ÷ 2 = 1/4; C = 1 × 0.25 ÷ 2 = 1/8
        assert close(score["b"], Fraction(1, 4)) and close(score["c"], Fraction(1, 8))
        # A = 2/5 (as above); D from group 5, E missing: K may still gain E's 1 point.
        assert score["missing"] == ["e"] and close(score["k_max"] - score["k_min"], 1)
        explained = office.explain("79.BTH", "2025-09")
        formulas = explained["formulas"]
        assert "× 0.5 ÷" in formulas["b"] and "× 0.25 ÷" in formulas["c"]
        # Each evaluation's points, as the profile values them, add up to the component.
        rows = explained["evaluations"]["rows"]
        assert sorted(r["b_points"] for r in rows) == [0, 0.5]
        assert sum(r["c_points"] for r in rows) / len(rows) == score["c"]
        office.inputs("79.BTH", "2025-09", e=1)
        # The public page: each component out of its maximum, and K out of
        # 1 + 0.5 + 0.25 + 18 + 1 = 20.75 (a Vietnamese decimal comma).
        page = client.get("/agencies/79.BTH?period=2025-09")
        assert page.status_code == 200
        assert "/ 0,5</span>" in page.text and "/ 0,25</span>" in page.text
        assert "/ 20,75 điểm" in page.text
        header = client.get("/api/v1/scores.csv?period=2025-09", headers=office.admin)
        assert header.status_code == 200
        assert "K (0-20,75)" in header.text.splitlines()[0]


def test_full_k_with_group5_from_petitions(client: TestClient, make_key: KeyFactory) -> None:
    office = Office(client, make_key)
    seed_ben_thanh(office)
    office.answer("D4", "none", "good", "satisfied")  # B 1, C 1
    office.answer("D5", "twice_or_more", "normal", "satisfied")  # B 0, C 0
    office.answer("D1", "once", "poor", "unsatisfied")  # B 1, C 0; D1 now unsatisfied
    # P1 within authority, linked to D4, handled on time, citizen satisfied.
    office.petition(
        "P1",
        "79.BTH",
        dossier_code="D4",
        received_at=f"2025-09-03T09:00:00{VN}",
        handled_at=f"2025-09-10T09:00:00{VN}",
        citizen_verdict="satisfied",
    )
    # P2 within authority, deadline 10/9, handled 12/9: late.
    office.petition(
        "P2",
        "79.BTH",
        received_at=f"2025-09-04T09:00:00{VN}",
        deadline_at=f"2025-09-10T17:00:00{VN}",
        handled_at=f"2025-09-12T09:00:00{VN}",
    )
    # P3 outside the agency's authority, never handled: its deadline (15 working days after
    # 5/9) has long passed, so it counts as handled late from that moment (rate b).
    office.petition("P3", "79.BTH", received_at=f"2025-09-05T09:00:00{VN}", within_authority=False)
    score = office.inputs("79.BTH", "2025-Q3", e=1)
    # B = 2 ÷ 3, C = 1 ÷ 3
    assert close(score["b"], Fraction(2, 3)) and close(score["c"], Fraction(1, 3))
    # Group 5 a: in authority on time 1 (P1) ÷ in authority 2 = 0.5 → 6 × 0.5/0.9 = 10/3
    # Group 5 b: (3 − P2 late − P3 overdue) ÷ 3 = 1/3 → 6 × (1/3)/0.9 = 20/9
    # Group 5 c: 5 dossiers; D1, D2, D3 overdue, D4 has a petition → (5 − 4) ÷ 5 = 0.2
    #            → 6 × 0.2/0.9 = 4/3.  Group 5 = 10/3 + 20/9 + 4/3 = 62/9
    g5 = score["group5"]
    assert close(g5["petitions_on_time_rate"], Fraction(1, 2))
    assert close(g5["petitions_satisfied_rate"], Fraction(1, 3))
    assert close(g5["dossiers_satisfied_rate"], Fraction(1, 5))
    assert close(g5["score"], Fraction(62, 9))
    assert score["d_source"] == "group5" and close(score["d"], Fraction(62, 9))
    # K = 2/5 + 2/3 + 1/3 + 62/9 + 1 = 418/45 ≈ 9.29 → below 20
    assert close(score["k"], Fraction(418, 45))
    assert score["group"] == "khong_hai_long" and score["missing"] == []
    assert score["counts"] == {"resolved_dossiers": 5, "evaluations": 3, "petitions": 3}
    explained = office.explain("79.BTH", "2025-Q3")
    # API.md: the Score plus the rows behind it; the nested copy kept for older clients.
    read_again = {k: v for k, v in score.items() if k != "computed_at"}
    assert {k: explained[k] for k in read_again} == read_again
    assert explained["score"] == {k: explained[k] for k in score}
    bad = {r["dossier_code"] for r in explained["dossiers"]["rows"] if r["counts_against_group5"]}
    assert bad == {"D1", "D2", "D3", "D4"}
    late = {r["petition_code"]: r["counts_against_group5"] for r in explained["petitions"]["rows"]}
    assert late == {"P1": False, "P2": True, "P3": True}


def seed_exact_twenty(office: Office, agency: str) -> None:
    office.handover(f"{agency}-1", agency, f"2025-08-05T09:00:00{VN}", f"2025-08-06T17:00:00{VN}")
    # Due Mon 4/8, resolved Tue 12/8: 5, 6, 7, 8, 11, 12/8 → 6 working days → 0 points.
    office.handover(f"{agency}-2", agency, f"2025-08-12T09:00:00{VN}", f"2025-08-04T17:00:00{VN}")
    office.answer(f"{agency}-1", "once", "good", "satisfied", at=f"2025-08-20T10:00:00{VN}")
    office.answer(f"{agency}-2", "once", "normal", "satisfied", at=f"2025-08-20T11:00:00{VN}")


def test_k_exactly_20_is_satisfied_and_ties_share_a_rank(
    client: TestClient, make_key: KeyFactory
) -> None:
    office = Office(client, make_key)
    for agency in ("79.SGN", "G22.39"):
        seed_exact_twenty(office, agency)
        # A = 1 ÷ 2, B = 2 ÷ 2 = 1, C = 1 ÷ 2; D = 17 (imported), E = 1
        # K = 0.5 + 1 + 0.5 + 17 + 1 = 20 exactly: not "below 20" → satisfied (profile).
        score = office.inputs(agency, "2025-Q3", d=17, e=1)
        assert score["k"] == 20 and score["group"] == "hai_long"
    ranking = client.get(
        "/api/v1/rankings", params={"period": "2025-Q3", "parent_code": "79"}, headers=office.admin
    ).json()
    ranks = {s["agency_code"]: s["rank"] for s in ranking["data"]}
    assert ranks == {"79.SGN": 1, "G22.39": 1, "79.BTH": None, "79.STP": None}
    lower = office.inputs("G22.39", "2025-Q3", d=16.99)
    # K = 0.5 + 1 + 0.5 + 16.99 + 1 = 19.99 → not satisfied
    assert close(lower["k"], Fraction("19.99")) and lower["group"] == "khong_hai_long"
    ranks = {
        s["agency_code"]: s["rank"]
        for s in client.get(
            "/api/v1/rankings",
            params={"period": "2025-Q3", "parent_code": "79"},
            headers=office.admin,
        ).json()["data"]
    }
    assert (ranks["79.SGN"], ranks["G22.39"]) == (1, 2)


def test_the_k_formula_says_a_k_at_the_threshold_is_satisfied(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The explain view's formula for K words the threshold as the profile does: a K of
    exactly 20 is satisfied by default, so "satisfied above 20" told a portal the K of 20
    beside it was not; a profile where the threshold itself is not satisfied says
    "above" (audit)."""
    office = Office(client, make_key)
    seed_exact_twenty(office, "79.SGN")
    score = office.inputs("79.SGN", "2025-Q3", d=17, e=1)
    assert score["k"] == 20 and score["group"] == "hai_long"  # 0.5 + 1 + 0.5 + 17 + 1
    formula = office.explain("79.SGN", "2025-Q3")["formulas"]["k"]
    assert formula == "A + B + C + D + E; satisfied at 20 or above", formula
    profile = load_profile("hcmc-104-2024")
    strict = profile.model_copy(
        update={"k_score": profile.k_score.model_copy(update={"threshold_is_satisfied": False})}
    )
    assert formulas(strict)["k"] == "A + B + C + D + E; satisfied above 20"


def test_the_group5_formula_says_what_a_rate_with_nothing_to_divide_by_does(
    database_url: str, make_key: KeyFactory
) -> None:
    """A ward with no petition scores 18 in group 5 on its dossiers' rate alone (scaled up,
    vn-766), beside a formula reading "6 × min(1, rate ÷ 0.9) for each of" three rates:
    at most 6, read as written (audit). The formula says the profile's rule."""
    from tests.conftest import make_settings

    settings = make_settings(database_url, scoring_profile="vn-766")
    with TestClient(create_app(settings)) as client:
        office = Office(client, make_key)
        office.handover("X1", "79.BTH", f"2025-09-10T10:00:00{VN}", f"2025-09-12T17:00:00{VN}")
        explained = office.explain("79.BTH", "2025-09")
    g5 = explained["group5"]
    assert g5["petitions_on_time_rate"] is None and g5["petitions_satisfied_rate"] is None
    assert g5["dossiers_satisfied_rate"] == 1.0 and g5["score"] == 18.0
    scaled = "a rate with nothing to divide by is left out, and the others are scaled up to 18"
    assert scaled in explained["formulas"]["group5"]
    profile = load_profile("vn-766")
    strict = profile.model_copy(
        update={"group5": profile.group5.model_copy(update={"missing_rate_rule": "null"})}
    )
    left = "a rate with nothing to divide by leaves the group without a score"
    assert left in formulas(strict)["group5"]


def test_no_evaluations_means_missing_not_zero_and_imported_d_wins(
    client: TestClient, make_key: KeyFactory
) -> None:
    office = Office(client, make_key)
    office.handover("S1", "79.STP", f"2025-07-10T09:00:00{VN}", f"2025-07-11T17:00:00{VN}")
    office.handover("S2", "79.STP", f"2025-07-15T09:00:00{VN}")
    score = office.inputs("79.STP", "2025-Q3", e=1)
    # A = 2 ÷ 2 = 1; no evaluations → B and C missing (null, not 0).
    # Group 5: no petitions → rates a, b null; c = 2 ÷ 2 = 1 → 6 points; the profile's
    # "scale" rule rests the group on the rates that exist: 6 × 3 ÷ 1 = 18 → D = 18.
    assert score["a"] == 1 and score["b"] is None and score["c"] is None
    assert score["group5"]["petitions_on_time_rate"] is None
    assert score["d"] == 18 and score["d_source"] == "group5"
    assert score["k"] is None and score["group"] == "chua_du_du_lieu"
    assert score["missing"] == ["b", "c"]
    # k_min = 1 + 18 + 1 = 20; k_max = 20 + 1 (B) + 1 (C) = 22
    assert (score["k_min"], score["k_max"]) == (20, 22)
    imported = office.inputs("79.STP", "2025-Q3", d=12.5, note="Hệ thống PAKN quốc gia")
    # D from the national petition system replaces group 5: k_min = 1 + 12.5 + 1 = 14.5
    assert (imported["d"], imported["d_source"], imported["group5"]["score"]) == (
        12.5,
        "imported",
        18,
    )
    assert (imported["k_min"], imported["k_max"]) == (14.5, 16.5)
    cleared = office.inputs("79.STP", "2025-Q3", d=None)
    assert (cleared["d"], cleared["d_source"], cleared["e"]) == (18, "group5", 1)
    nothing = office.score("79.STP", "2025-Q1")
    assert nothing["missing"] == ["a", "b", "c", "d", "e"] and nothing["k_min"] == 0
    assert nothing["k_max"] == 22 and nothing["group"] == "chua_du_du_lieu"


def test_staff_scores_withheld_under_the_anonymity_minimum(
    client: TestClient, make_key: KeyFactory
) -> None:
    office = Office(client, make_key)
    seed_ben_thanh(office)  # handling CB002, returning CB003 for every dossier
    office.answer("D4", "none", "good", "satisfied")
    office.answer("D5", "twice_or_more", "normal", "satisfied")
    office.answer("D1", "once", "poor", "unsatisfied")

    def staff() -> dict[str, dict[str, Any]]:
        response = client.get("/api/v1/agencies/79.BTH/staff-scores/2025-09", headers=office.admin)
        assert response.status_code == 200
        return {s["staff_code"]: s for s in response.json()["data"]}

    people = staff()
    # CB002 handled the 5 September dossiers: A = 2 ÷ 5, shown (no citizen answers in it).
    assert close(people["CB002"]["a"], Fraction(2, 5))
    # CB003 returned the 3 evaluated dossiers: 3 < 5 evaluations → B and C withheld.
    assert people["CB003"]["evaluations"] == 3
    assert people["CB003"]["withheld"] and people["CB003"]["b"] is None
    office.handover("D7", "79.BTH", f"2025-09-23T09:00:00{VN}")
    office.handover("D8", "79.BTH", f"2025-09-24T09:00:00{VN}")
    office.answer("D7", "none", "good", "very_satisfied")
    office.answer("D8", "none", "good", "satisfied")
    people = staff()
    # 5 evaluations: B = (1 + 0 + 1 + 1 + 1) ÷ 5 = 4/5; C = (1 + 0 + 0 + 1 + 1) ÷ 5 = 3/5
    assert not people["CB003"]["withheld"]
    assert close(people["CB003"]["b"], Fraction(4, 5))
    assert close(people["CB003"]["c"], Fraction(3, 5))
    reader = client.get("/api/v1/agencies/79.BTH/staff-scores/2025-09", headers=make_key("reader"))
    assert reader.status_code == 403


def test_a_period_with_a_thin_month_withholds_staff_b_and_c(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The quarter (6 answers, C 5/6) less July (5 answers, C 1) gave August's one answer:
    "poor" (audit). A period's B and C need every month with answers to have the minimum."""
    office = Office(client, make_key)
    days = [f"2025-07-{d:02d}" for d in (7, 8, 9, 10, 11)] + ["2025-08-20"]
    for n, day in enumerate(days):
        office.handover(f"T{n}", "79.BTH", f"{day}T09:00:00{VN}")
        attitude = "poor" if day.startswith("2025-08") else "good"
        office.answer(f"T{n}", "none", attitude, "satisfied", at=f"{day}T15:00:00{VN}")

    def returning(period: str) -> dict[str, Any]:
        url = f"/api/v1/agencies/79.BTH/staff-scores/{period}"
        response = client.get(url, headers=office.admin)
        assert response.status_code == 200, response.text
        people: list[dict[str, Any]] = response.json()["data"]
        [person] = [s for s in people if s["staff_code"] == "CB003"]
        return person

    july, august, quarter, year = (returning(p) for p in ("2025-07", "2025-08", "2025-Q3", "2025"))
    assert july["c"] == 1 and not july["withheld"] and july["thin_month"] is None
    assert august["withheld"] and august["c"] is None and august["thin_month"] is None
    for whole in (quarter, year):
        assert whole["evaluations"] == 6 and whole["withheld"]
        assert whole["b"] is None and whole["c"] is None and whole["thin_month"] == "2025-08"
    # Four more answers in August: every month has five, and the quarter is shown again.
    for n, day in enumerate(["2025-08-21", "2025-08-22", "2025-08-25", "2025-08-26"], 10):
        office.handover(f"T{n}", "79.BTH", f"{day}T09:00:00{VN}")
        office.answer(f"T{n}", "none", "good", "satisfied", at=f"{day}T15:00:00{VN}")
    quarter = returning("2025-Q3")
    assert not quarter["withheld"] and close(quarter["c"], Fraction(9, 10))


def test_staff_shown_beside_one_withheld_are_hidden_when_the_agency_gives_the_rest_away(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The agency's C is public. CB013's five answers shown (C 4/5) and CB014's one
    withheld: the agency's C over six, 4/6, less CB013's gave CB014's one answer, "poor"
    (audit). CB013 is hidden with it until what is left rests on the minimum too."""
    office = Office(client, make_key)
    returning = {"CB013": 5, "CB014": 1}
    n = 0
    for code, answers in returning.items():
        for _ in range(answers):
            staff = {"receiving": "CB001", "handling": "CB002", "returning": code}
            office.handover(f"R{n}", "79.BTH", f"2025-09-1{n % 10}T09:00:00{VN}", staff=staff)
            attitude = "poor" if n in (0, 5) else "good"
            office.answer(f"R{n}", "none", attitude, "satisfied")
            n += 1

    def people() -> dict[str, dict[str, Any]]:
        url = "/api/v1/agencies/79.BTH/staff-scores/2025-09"
        response = client.get(url, headers=office.admin)
        assert response.status_code == 200, response.text
        return {s["staff_code"]: s for s in response.json()["data"]}

    found = people()
    assert found["CB014"]["withheld"] and not found["CB014"]["hidden_with_others"]
    assert found["CB013"]["evaluations"] == 5 and found["CB013"]["hidden_with_others"]
    assert found["CB013"]["withheld"] and found["CB013"]["c"] is None
    # Four more answers for CB014: five each, nothing left over, both shown.
    for m in range(4):
        staff = {"receiving": "CB001", "handling": "CB002", "returning": "CB014"}
        office.handover(f"R{n + m}", "79.BTH", f"2025-09-2{m}T09:00:00{VN}", staff=staff)
        office.answer(f"R{n + m}", "none", "good", "satisfied")
    found = people()
    assert not found["CB013"]["withheld"] and close(found["CB013"]["c"], Fraction(4, 5))
    assert not found["CB014"]["withheld"] and close(found["CB014"]["c"], Fraction(4, 5))


def test_staff_hidden_with_others_in_a_month_are_hidden_in_its_quarter_and_year(
    client: TestClient, make_key: KeyFactory
) -> None:
    """X has five answers in each month of Q3, Y one in July ("poor") and five in August.
    July hides X with Y; the quarter (X shown, Y thin in July) showed X, and X's July was
    the quarter less August and September: the agency's public July C less it gave Y's one
    answer (audit). A month that hides someone with others hides them in the period too."""
    office = Office(client, make_key)
    answers = [("X", month, "good") for month in (7, 8, 9) for _ in range(5)]
    answers += [("Y", 7, "poor")] + [("Y", 8, "good")] * 5
    for n, (code, month, attitude) in enumerate(answers):
        staff = {"receiving": code, "handling": code, "returning": code}
        office.handover(f"H{n}", "79.BTH", f"2025-07-02T09:00:00{VN}", staff=staff)
        office.answer(
            f"H{n}", "none", attitude, "satisfied", at=f"2025-{month:02d}-15T09:00:00{VN}"
        )

    def people(period: str) -> dict[str, dict[str, Any]]:
        url = f"/api/v1/agencies/79.BTH/staff-scores/{period}"
        response = client.get(url, headers=office.admin)
        assert response.status_code == 200, response.text
        return {s["staff_code"]: s for s in response.json()["data"]}

    july = people("2025-07")
    assert july["X"]["hidden_with_others"] and july["Y"]["withheld"]
    assert not people("2025-08")["X"]["withheld"] and not people("2025-09")["X"]["withheld"]
    for whole in ("2025-Q3", "2025"):
        found = people(whole)
        assert found["Y"]["thin_month"] == "2025-07", whole
        assert found["X"]["withheld"] and found["X"]["hidden_with_others"], (whole, found["X"])
        assert found["X"]["c"] is None and found["X"]["b"] is None
    # Four more July answers for Y: July shows both, and so do the quarter and the year.
    for n in range(4):
        staff = {"receiving": "Y", "handling": "Y", "returning": "Y"}
        office.handover(f"J{n}", "79.BTH", f"2025-07-03T09:00:00{VN}", staff=staff)
        office.answer(f"J{n}", "none", "good", "satisfied", at=f"2025-07-16T09:00:00{VN}")
    for whole in ("2025-07", "2025-Q3", "2025"):
        found = people(whole)
        assert not found["X"]["withheld"] and found["X"]["c"] == 1, (whole, found["X"])
        assert not found["Y"]["withheld"], (whole, found["Y"])


def test_a_staff_figure_resting_on_fewer_answers_than_the_minimum_is_withheld(
    client: TestClient, make_key: KeyFactory
) -> None:
    """DESIGN.md (staff): shown only when it rests on at least min_evaluations_for_staff
    (5) evaluations. Five evaluations, one of which answered staff_attitude: C was that
    one citizen's "poor", shown beside the staff member's name."""
    issuer, admin = make_key("issuer"), make_key("admin")
    for i in range(5):
        body = handover_body(
            dossier_code=f"S{i}",
            agency_code="79.BTH",
            received_at=f"2025-09-01T08:00:00{VN}",
            due_at=None,
            resolved_at=f"2025-09-1{i}T09:00:00{VN}",
            handed_over_at=None,
        )
        made = client.post("/api/v1/handovers", json=body, headers=issuer)
        assert made.status_code == 201, made.text
        answers: dict[str, Any] = {"timeliness": "on_time"}
        if i == 0:
            answers["staff_attitude"] = "poor"
        answer = {
            "token": made.json()["survey_url"].rsplit("/", 1)[1],
            "submitted_at": f"2025-09-20T09:0{i}:00{VN}",
            "answers": answers,
        }
        assert client.post("/api/v1/responses", json=answer, headers=admin).status_code == 201
    listed = client.get("/api/v1/agencies/79.BTH/staff-scores/2025-09", headers=admin).json()
    person = {s["staff_code"]: s for s in listed["data"]}["CB003"]
    assert (person["evaluations"], person["withheld"], person["b"], person["c"]) == (
        5,
        True,
        None,
        None,
    )


def test_a_petition_handled_in_the_last_second_of_its_deadline_day_is_on_time(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The deadline is the end of its 15th working day: it was 23:59:59 sharp, so an
    answer at 23:59:59.5 that day counted late."""
    office = Office(client, make_key)
    office.petition("PX", "79.BTH", received_at=f"2025-09-03T09:00:00{VN}")
    day = office.explain("79.BTH", "2025-09")["petitions"]["rows"][0]["deadline_at"][:10]
    office.petition(
        "PX", "79.BTH", received_at=f"2025-09-03T09:00:00{VN}", handled_at=f"{day}T23:59:59.5{VN}"
    )
    row = office.explain("79.BTH", "2025-09")["petitions"]["rows"][0]
    assert row["handled_on_time"] is True and row["state"] != "late"
