"""TT 01/2018/TT-VPCP computed beside the K score (profiles/tt-01-2018.toml), worked out by
hand and read through the public API, on SQLite and PostgreSQL.

The same dossiers, answers and petitions give HCMC 104/2024's K (no `profile=`) and TT 01's
nine indicators (`profile=tt-01-2018`). The arithmetic is written next to each assertion.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlmodel import col
from sqlmodel import select as sqlmodel_select

from service.db import make_engine, transaction
from service.models import COUNT_COLUMNS, AgencyDayCounter, Response, ScoreDirty
from service.profile import PROFILES_DIR, ProfileError, load_profile
from service.scoring import tt01
from service.scoring.rebuild import rebuild
from tests.conftest import DbFactory, KeyFactory, app_for, handover_body, make_settings
from tests.console.conftest import ConsoleClient, raw_key
from tests.scoring.test_worked_examples import VN, Office, close, seed_ben_thanh

pytestmark = pytest.mark.usefixtures("agencies")
TT01 = "tt-01-2018"


@pytest.fixture
def both(database_url: str) -> Iterator[TestClient]:
    """A service scoring HCMC 104/2024 with TT 01/2018 beside it."""
    settings = make_settings(database_url, scoring_profile_also=TT01)
    with TestClient(app_for(settings)) as client:
        yield client


def tt_score(office: Office, agency: str, period: str) -> dict[str, Any]:
    response = office.client.get(
        f"/api/v1/agencies/{agency}/scores/{period}",
        params={"profile": TT01},
        headers=office.admin,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def points(score: dict[str, Any]) -> dict[str, float | None]:
    return {i["key"]: i["points"] for i in score["indicators"]}


def answer(office: Office, code: str, complaint: str | None = None, **answers: str) -> None:
    body: dict[str, Any] = {
        "token": office.tokens[code],
        "submitted_at": f"2025-09-20T09:00:00{VN}",
        "source": "api",
        "answers": {"timeliness": "on_time", "overall": "satisfied", **answers},
    }
    if complaint:
        body["answers"]["complaint"] = complaint
    response = office.client.post("/api/v1/responses", json=body, headers=office.admin)
    assert response.status_code == 201, response.text


def seed_september(office: Office) -> None:
    """79.BTH's September 2025 (seed_ben_thanh's D1-D6, and D7)."""
    seed_ben_thanh(office)
    # D7: due 25/9 17:00, resolved the same day at 10:00 → on time, not before the due day.
    office.handover("D7", "79.BTH", f"2025-09-25T10:00:00{VN}", f"2025-09-25T17:00:00{VN}")
    # Indicators 3 (supplements), 4 (agencies contacted), 7 (attitude):
    answer(
        office,
        "D4",
        supplement_requests="none",  # 2
        staff_attitude="good",  # 2
        agencies_contacted="desk_only",  # 2
    )
    answer(
        office,
        "D5",
        supplement_requests="twice_or_more",  # 0
        staff_attitude="normal",  # 1
        agencies_contacted="one_more",  # 1
    )
    answer(
        office,
        "D1",
        complaint="Cán bộ hẹn nhiều lần",
        supplement_requests="once",  # 1
        staff_attitude="good",  # 2, but with a complaint: at most 1
    )  # agencies_contacted not answered
    # Indicator 8, petitions within the authority received in September:
    office.petition(  # answered by its deadline (15 working days): 2
        "P1",
        "79.BTH",
        received_at=f"2025-09-03T08:00:00{VN}",
        handled_at=f"2025-09-10T08:00:00{VN}",
    )
    office.petition(  # answered after its deadline: 1 (about D1)
        "P2",
        "79.BTH",
        dossier_code="D1",
        received_at=f"2025-09-03T08:00:00{VN}",
        deadline_at=f"2025-09-05T17:00:00{VN}",
        handled_at=f"2025-09-12T08:00:00{VN}",
    )
    office.petition(  # never answered, deadline long past: 0
        "P3",
        "79.BTH",
        received_at=f"2025-09-04T08:00:00{VN}",
        deadline_at=f"2025-09-08T17:00:00{VN}",
    )
    office.petition(  # not within the agency's authority: not scored
        "P4",
        "79.BTH",
        received_at=f"2025-09-04T08:00:00{VN}",
        within_authority=False,
    )


def test_a_september_worked_out_by_hand(both: TestClient, make_key: KeyFactory) -> None:
    office = Office(both, make_key)
    seed_september(office)
    before = tt_score(office, "79.BTH", "2025-09")
    # Indicator 1 over the 6 dossiers resolved in September (D6 is October's):
    #   D1, D2, D3 late 0 + D4 a day early 2 + D5 no due time 1 + D7 on its due day 1 = 4 → 4/6
    # Indicator 2 = indicator 1 (one agency resolves each dossier).
    # 3: (2 + 0 + 1) / 3 = 1.   4: (2 + 1) / 2 = 3/2 (D1 did not answer it).
    # 7: (2 + 1 + min(2, 1)) / 3 = 4/3.   8: (P1 2 + P2 1 + P3 0) / 3 = 1 (P4 not scored).
    expected = {
        "total_time": Fraction(2, 3),
        "agency_time": Fraction(2, 3),
        "returns_to_complete": Fraction(1),
        "agencies_contacted": Fraction(3, 2),
        "desk_organisation": None,
        "public_posting": None,
        "staff_attitude": Fraction(4, 3),
        "petitions_on_time": Fraction(1),
        "online_services": None,
    }
    got = points(before)
    for key, value in expected.items():
        assert got[key] is None if value is None else close(got[key], value), key
    counted = {i["key"]: i["count"] for i in before["indicators"]}
    assert counted["total_time"] == 6 and counted["agencies_contacted"] == 2
    assert counted["petitions_on_time"] == 3 and counted["desk_organisation"] is None
    # 5, 6, 9 not entered yet: no total, no class; known 37/6, reach 37/6 + 3 × 2.
    assert before["total"] is None and before["classification"] == "chua_du_du_lieu"
    assert before["missing"] == ["desk_organisation", "public_posting", "online_services"]
    assert close(before["total_min"], Fraction(37, 6))
    assert close(before["total_max"], Fraction(73, 6))
    assert before["max_total"] == 18 and before["profile"] == TT01

    entered = office.client.put(
        "/api/v1/agencies/79.BTH/periods/2025-09/inputs",
        json={"indicators": {"desk_organisation": 2, "public_posting": 1, "online_services": 2}},
        headers=office.admin,
    )
    assert entered.status_code == 200, entered.text
    after = tt_score(office, "79.BTH", "2025-09")
    # 37/6 + 2 + 1 + 2 = 67/6 ≈ 11.17: "dat" (10 ≤ total < 15).
    assert close(after["total"], Fraction(67, 6))
    assert after["classification"] == "dat" and after["missing"] == []
    assert after["entered"]["set_by"]
    # The K score of the same data is untouched by the TT 01 profile beside it:
    # A = (D4, D5, D7 on time) 3 ÷ 6 resolved.
    k = office.score("79.BTH", "2025-09")
    assert k["profile"] == "hcmc-104-2024" and close(k["a"], Fraction(3, 6))


def test_a_month_takes_its_quarters_entered_indicators_unless_it_has_its_own(
    both: TestClient, make_key: KeyFactory
) -> None:
    """Entered for 2025-Q3, the indicators scored every September dossier, but September's
    agency score read them as missing (audit): a month takes its quarter's, as its dossiers do."""
    office = Office(both, make_key)
    seed_september(office)

    def enter(period: str, value: int) -> None:
        indicators = {"desk_organisation": value, "public_posting": 1, "online_services": 2}
        entered = office.client.put(
            f"/api/v1/agencies/79.BTH/periods/{period}/inputs",
            json={"indicators": indicators},
            headers=office.admin,
        )
        assert entered.status_code == 200, entered.text

    enter("2025-Q3", 2)
    september = tt_score(office, "79.BTH", "2025-09")
    assert september["missing"] == [] and points(september)["desk_organisation"] == 2
    # 37/6 (the month's own indicators, above) + 2 + 1 + 2 = 67/6
    assert close(september["total"], Fraction(67, 6))
    enter("2025-09", 0)  # the month's own, where entered, come first
    assert points(tt_score(office, "79.BTH", "2025-09"))["desk_organisation"] == 0
    assert points(tt_score(office, "79.BTH", "2025-Q3"))["desk_organisation"] == 2


def test_a_month_with_one_indicator_of_its_own_keeps_its_quarters_others(
    both: TestClient, make_key: KeyFactory
) -> None:
    """A month with any entered indicator of its own took none of its quarter's: correcting
    5 for September left 6 and 9 missing, and the month lost its class though nobody had
    cleared them (audit). The month's own replace the quarter's key by key."""
    office = Office(both, make_key)
    seed_september(office)
    quarter = {"desk_organisation": 2, "public_posting": 1, "online_services": 2}
    office.inputs("79.BTH", "2025-Q3", indicators=quarter)
    office.inputs("79.BTH", "2025-09", indicators={"desk_organisation": 1})
    september = tt_score(office, "79.BTH", "2025-09")
    assert september["missing"] == [] and september["classification"] == "dat"
    got = points(september)
    assert (got["desk_organisation"], got["public_posting"], got["online_services"]) == (1, 1, 2)
    # 37/6 + 1 (September's own 5) + 1 + 2 (the quarter's 6 and 9) = 61/6 ≈ 10.17: "dat"
    assert close(september["total"], Fraction(61, 6))
    # A later correction of the quarter reaches the month where it has none of its own.
    office.inputs("79.BTH", "2025-Q3", indicators={"public_posting": 2})
    assert points(tt_score(office, "79.BTH", "2025-09"))["public_posting"] == 2
    # Clearing the month's own 5 (null) gives it the quarter's again, not "missing".
    office.inputs("79.BTH", "2025-09", indicators={"desk_organisation": None})
    assert points(tt_score(office, "79.BTH", "2025-09"))["desk_organisation"] == 2


def entered_from(score: dict[str, Any]) -> dict[str, str | None]:
    return {i["key"]: i["entered_from"] for i in score["indicators"] if i["basis"] == "entered"}


def test_a_year_takes_the_mean_of_its_quarters_entered_indicators(
    both: TestClient, make_key: KeyFactory
) -> None:
    """(audit) With 5, 6, 9 entered for each quarter of 2025, every dossier and every month
    of the year was scored with them, but the year's agency score read them as missing: no
    total, no class. A year takes, key by key, the exact mean of its quarters'."""
    office = Office(both, make_key)
    seed_september(office)
    # The year's six computed indicators, before anything is entered: its total's floor.
    computed = tt_score(office, "79.BTH", "2025")["total_min"]
    quarters = {
        "2025-Q1": {"desk_organisation": 2, "public_posting": 2, "online_services": 0},
        "2025-Q2": {"desk_organisation": 1, "public_posting": 2, "online_services": 2},
        "2025-Q3": {"desk_organisation": 2, "public_posting": 2, "online_services": 2},
        "2025-Q4": {"desk_organisation": 1, "public_posting": 2, "online_services": 2},
    }
    for quarter, indicators in quarters.items():
        office.inputs("79.BTH", quarter, indicators=indicators)
    year = tt_score(office, "79.BTH", "2025")
    assert year["missing"] == [] and year["classification"] == "dat"
    got = points(year)
    # 5: (2 + 1 + 2 + 1) ÷ 4 = 3/2; 6: 2; 9: (0 + 2 + 2 + 2) ÷ 4 = 3/2.
    assert (got["desk_organisation"], got["public_posting"], got["online_services"]) == (
        1.5,
        2,
        1.5,
    )
    assert close(year["total"], computed + 5)  # + 3/2 + 2 + 3/2
    assert set(entered_from(year).values()) == {"mean of 2025-Q1..Q4 (4 quarters)"}
    assert year["entered"]["set_by"]  # the last quarter's entry
    # The year's dossiers and months still take their quarter's own.
    assert points(tt_score(office, "79.BTH", "2025-09"))["desk_organisation"] == 2
    assert entered_from(tt_score(office, "79.BTH", "2025-09"))["desk_organisation"] == "2025-Q3"
    dossier = both.get("/api/v1/dossiers/D4/score", headers=office.admin).json()
    assert points(dossier)["online_services"] == 2 and dossier["period"] == "2025-Q3"


def marked_changed(db: DbFactory) -> set[str]:
    """The periods of 79.BTH marked changed, to be announced as score.updated."""
    with db() as session:
        return set(session.execute(select(col(ScoreDirty.period))).scalars())


def test_a_quarters_entered_indicators_announce_its_months_and_its_year(
    both: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(audit) Indicators 5, 6, 9 entered for 2025-Q3 change the scores of July, August and
    September (which take the quarter's) and of 2025 (the mean of its quarters), but only
    2025-Q3 was marked changed: a portal heard score.updated for the quarter alone. A month's
    own indicators change that month only."""
    office = Office(both, make_key)
    with db() as session:
        session.execute(ScoreDirty.__table__.delete())  # type: ignore[attr-defined]
    office.inputs("79.BTH", "2025-Q3", indicators={"desk_organisation": 2})
    assert marked_changed(db) == {"2025-07", "2025-08", "2025-09", "2025-Q3", "2025"}
    with db() as session:
        session.execute(ScoreDirty.__table__.delete())  # type: ignore[attr-defined]
    office.inputs("79.BTH", "2025-09", indicators={"public_posting": 1})
    assert marked_changed(db) == {"2025-09"}
    with db() as session:
        session.execute(ScoreDirty.__table__.delete())  # type: ignore[attr-defined]
    office.inputs("79.BTH", "2025-Q3", d=10)  # K's D does not carry to months or the year
    assert marked_changed(db) == {"2025-Q3"}


def test_a_year_with_two_quarters_entered_takes_the_mean_of_those_two(
    both: TestClient, make_key: KeyFactory
) -> None:
    """(audit) A quarter with nothing entered is not a zero: the year's indicator is the
    mean of the quarters that have one, and missing only while none has."""
    office = Office(both, make_key)
    seed_september(office)
    computed = tt_score(office, "79.BTH", "2025")["total_min"]
    office.inputs("79.BTH", "2025-Q1", indicators={"desk_organisation": 2, "public_posting": 1})
    assert tt_score(office, "79.BTH", "2025")["missing"] == ["online_services"]
    office.inputs(
        "79.BTH",
        "2025-Q3",
        indicators={"desk_organisation": 1, "public_posting": 1, "online_services": 2},
    )
    year = tt_score(office, "79.BTH", "2025")
    got = points(year)
    # 5: (2 + 1) ÷ 2; 6: (1 + 1) ÷ 2; 9: Q3's alone.
    assert (got["desk_organisation"], got["public_posting"], got["online_services"]) == (
        1.5,
        1,
        2,
    )
    assert close(year["total"], computed + 4.5)
    assert entered_from(year) == {
        "desk_organisation": "mean of 2025-Q1, 2025-Q3 (2 quarters)",
        "public_posting": "mean of 2025-Q1, 2025-Q3 (2 quarters)",
        "online_services": "mean of 2025-Q3 (1 quarter)",
    }


def test_a_year_s_own_entered_indicator_comes_before_its_quarters_mean(
    both: TestClient, make_key: KeyFactory
) -> None:
    """(audit) A value entered for the year itself wins, key by key, as a month's own does
    over its quarter's; cleared, the year takes its quarters' mean again."""
    office = Office(both, make_key)
    seed_september(office)
    computed = tt_score(office, "79.BTH", "2025")["total_min"]
    for quarter, desk in (("2025-Q1", 2), ("2025-Q2", 1)):
        office.inputs(
            "79.BTH",
            quarter,
            indicators={"desk_organisation": desk, "public_posting": 2, "online_services": 2},
        )
    office.inputs("79.BTH", "2025", indicators={"desk_organisation": 0})
    year = tt_score(office, "79.BTH", "2025")
    got = points(year)
    assert (got["desk_organisation"], got["public_posting"], got["online_services"]) == (0, 2, 2)
    assert close(year["total"], computed + 4)  # 0 + 2 + 2
    assert entered_from(year) == {
        "desk_organisation": None,  # the year's own
        "public_posting": "mean of 2025-Q1..Q2 (2 quarters)",
        "online_services": "mean of 2025-Q1..Q2 (2 quarters)",
    }
    office.inputs("79.BTH", "2025", indicators={"desk_organisation": None})
    assert points(tt_score(office, "79.BTH", "2025"))["desk_organisation"] == 1.5


def test_a_dossier_scored_by_itself(both: TestClient, make_key: KeyFactory) -> None:
    office = Office(both, make_key)
    seed_september(office)
    # A dossier takes its agency's entered indicators of its resolution quarter.
    office.client.put(
        "/api/v1/agencies/79.BTH/periods/2025-Q3/inputs",
        json={"indicators": {"desk_organisation": 2, "public_posting": 2, "online_services": 2}},
        headers=office.admin,
    )

    def dossier(code: str) -> dict[str, Any]:
        response = both.get(f"/api/v1/dossiers/{code}/score", headers=office.admin)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    # D4: early 2 + 2, answers 2 + 2 + 2, no petition 2, entered 2 + 2 + 2 = 18: "tot".
    d4 = dossier("D4")
    assert d4["total"] == 18 and d4["classification"] == "tot" and d4["period"] == "2025-Q3"
    # D5: no due time 1 + 1, answers 0 + 1 + 1, no petition 2, entered 6 = 12: "dat".
    d5 = dossier("D5")
    assert d5["total"] == 12 and d5["classification"] == "dat"
    # D1: late 0 + 0, supplements 1, attitude with complaint 1, petition P2 answered late 1,
    # agencies contacted not answered: no total, reach 0+0+1+1+1+6 = 9 .. 11.
    d1 = dossier("D1")
    assert points(d1)["petitions_on_time"] == 1 and points(d1)["staff_attitude"] == 1
    assert d1["total"] is None and d1["missing"] == ["agencies_contacted"]
    assert (d1["total_min"], d1["total_max"]) == (9, 11)
    # D2 was never evaluated: only its facts, petitions and entered indicators score.
    d2 = dossier("D2")
    assert d2["evaluated"] is False
    assert d2["missing"] == ["returns_to_complete", "agencies_contacted", "staff_attitude"]
    # Another agency's key learns nothing about 79.BTH's dossier, not even that it exists.
    other = make_key("reader", agency="79.SGN")
    assert both.get("/api/v1/dossiers/D4/score", headers=other).status_code == 404
    assert both.get("/api/v1/dossiers/NOPE/score", headers=other).status_code == 404


def test_side_by_side_lists_rankings_and_refusals(both: TestClient, make_key: KeyFactory) -> None:
    office = Office(both, make_key)
    seed_september(office)
    # 79.SGN: one dossier resolved a day early, all answers at full points, inputs 2, 2, 2.
    office.handover("S1", "79.SGN", f"2025-09-10T09:00:00{VN}", f"2025-09-11T17:00:00{VN}")
    answer(
        office,
        "S1",
        supplement_requests="none",
        staff_attitude="good",
        agencies_contacted="desk_only",
    )
    for agency in ("79.BTH", "79.SGN"):
        office.client.put(
            f"/api/v1/agencies/{agency}/periods/2025-09/inputs",
            json={
                "indicators": {"desk_organisation": 2, "public_posting": 2, "online_services": 2}
            },
            headers=office.admin,
        )
    ranking = both.get(
        "/api/v1/rankings",
        params={"period": "2025-09", "parent_code": "79", "profile": TT01},
        headers=office.admin,
    )
    assert ranking.status_code == 200, ranking.text
    rows = ranking.json()["data"]
    # 79.SGN 18 (no petition: 2) ranks above 79.BTH 37/6 + 6 = 73/6; the others have no
    # total (nothing resolved) and no rank.
    assert [(r["agency_code"], r["rank"]) for r in rows][:2] == [("79.SGN", 1), ("79.BTH", 2)]
    assert rows[0]["total"] == 18 and rows[0]["classification"] == "tot"
    assert all(r["rank"] is None for r in rows[2:])
    listed = both.get(
        "/api/v1/scores",
        params={"period": "2025-09", "parent_code": "79", "profile": TT01},
        headers=office.admin,
    )
    assert listed.status_code == 200 and "indicators" in listed.json()["data"][0]
    k_list = both.get(
        "/api/v1/scores", params={"period": "2025-09", "parent_code": "79"}, headers=office.admin
    )
    assert "k" in k_list.json()["data"][0]
    # A profile this service does not compute: a 422 that names the ones it does.
    wrong = both.get(
        "/api/v1/scores", params={"period": "2025-09", "profile": "vn-766"}, headers=office.admin
    )
    assert wrong.status_code == 422
    assert "hcmc-104-2024, tt-01-2018" in wrong.text
    # Entered values outside 0..2 are refused with the field named.
    bad = both.put(
        "/api/v1/agencies/79.BTH/periods/2025-09/inputs",
        json={"indicators": {"public_posting": 3}},
        headers=office.admin,
    )
    assert bad.status_code == 422 and "indicators.public_posting" in bad.text


def test_without_the_profile_beside_it_tt01_is_refused(
    client: TestClient, make_key: KeyFactory
) -> None:
    admin = make_key("admin")
    response = client.get(
        "/api/v1/scores", params={"period": "2025-09", "profile": TT01}, headers=admin
    )
    assert response.status_code == 422 and "it computes: hcmc-104-2024" in response.text
    entered = client.put(
        "/api/v1/agencies/79.BTH/periods/2025-09/inputs",
        json={"indicators": {"public_posting": 1}},
        headers=admin,
    )
    assert entered.status_code == 422 and "HAILONG_SCORING_PROFILE_ALSO" in entered.text
    assert client.get("/api/v1/dossiers/X/score", headers=admin).status_code == 422


def test_a_rebuild_gives_the_live_counters_back(
    both: TestClient, make_key: KeyFactory, database_url: str
) -> None:
    """The SQL statement of the rules (sql_rules.py) agrees with the live path, including the
    local-day comparison of "before the due day" on each database."""
    office = Office(both, make_key)
    seed_september(office)
    # Resolved 23:30 local on the 24th, due 00:30 local on the 25th: a day early locally,
    # though only an hour before in UTC (both times fall on the 24th in UTC).
    office.handover("D8", "79.BTH", "2025-09-24T16:30:00+00:00", "2025-09-24T17:30:00+00:00")
    # D9 in 1970, when Saigon kept UTC+8: resolved 00:30 local on 11/6, due 10:00 local the
    # same day: on time (1). At UTC+7, SQLite's rebuild put the resolution on the 10th:
    # early (2; audit).
    d9 = handover_body(
        dossier_code="D9",
        agency_code="79.BTH",
        received_at=None,
        handed_over_at=None,
        resolved_at="1970-06-10T16:30:00+00:00",
        due_at="1970-06-11T02:00:00+00:00",
    )
    assert office.client.post("/api/v1/handovers", json=d9, headers=office.issuer).is_success
    settings = make_settings(database_url, scoring_profile_also=TT01)
    engine = make_engine(settings)
    table = AgencyDayCounter.__table__  # type: ignore[attr-defined]
    try:

        def counters() -> dict[tuple[int, Any], tuple[int, ...]]:
            with transaction(engine) as session:
                rows = session.execute(select(table)).mappings().all()
            return {
                (r["agency_id"], r["day"]): tuple(r[c] for c in COUNT_COLUMNS)
                for r in rows
                if any(r[c] for c in COUNT_COLUMNS)
            }

        live = counters()
        # September 4 + D8 early 2 + D6 (October, no due time) 1 + D9 on its due day 1
        assert sum(v[COUNT_COLUMNS.index("tt_time_points")] for v in live.values()) == 8
        with transaction(engine) as session:
            rebuild(session, load_profile("hcmc-104-2024", TT01))
        assert counters() == live
    finally:
        engine.dispose()


# --- the profile itself --------------------------------------------------------------------


def test_classes_have_no_gap_and_decide_15_exactly() -> None:
    rules = load_profile("hcmc-104-2024", TT01).also
    assert rules is not None
    assert rules.classify(Fraction(15)).key == "tot"
    assert rules.classify(Fraction(1499, 100)).key == "dat"
    assert rules.classify(Fraction(10)).key == "dat"
    assert rules.classify(Fraction(999, 100)).key == "khong_dat"
    assert rules.classify(Fraction(0)).key == "khong_dat"
    # Every total from 0 to 18 in steps of 1/6 has exactly one class.
    for sixths in range(0, 18 * 6 + 1):
        total = Fraction(sixths, 6)
        bounds = [c for c in rules.classes if total >= Fraction(c.at_least)]
        assert bounds and rules.classify(total) == bounds[0]
    # An agency total of exactly 15 (exact arithmetic, no float drift) is "tot".
    counts = Counter(
        resolved=3, tt_time_points=5, b_answered=3, tt_returns_points=5, c_answered=3,
        tt_attitude_points=5, tt_contacts_answered=3, tt_contacts_points=5,
    )  # fmt: skip
    values = tt01.agency_indicators(
        counts,
        {"desk_organisation": 2, "public_posting": 1, "online_services": 2},
        load_profile("hcmc-104-2024", TT01),
    )
    result = tt01.total(values, rules)
    # 5 × 5/3 + 2 (no petition) + 2 + 1 + 2 = 25/3 + 7 = 46/3 ≈ 15.33
    assert result.total == Fraction(46, 3) and result.classification == "tot"


def _edited(tmp_path: Path, old: str, new: str) -> str:
    text = (PROFILES_DIR / f"{TT01}.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "mine.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("at_least = 0\n", "at_least = 5\n", "the lowest class must start at 0"),
        ("at_least = 10\n", "at_least = 16\n", "from the highest `at_least` down"),
        ("desk_only = 2", "desk_only = 3", "no indicator may score more than max_points"),
        ("one_more = 1", "one_other = 1", "do not match"),
    ],
)
def test_a_broken_tt01_profile_is_refused_naming_the_problem(
    tmp_path: Path, old: str, new: str, named: str
) -> None:
    with pytest.raises(ProfileError, match=named):
        load_profile("hcmc-104-2024", _edited(tmp_path, old, new))


def test_tt01_is_computed_beside_a_k_profile_not_instead() -> None:
    with pytest.raises(ProfileError, match="HAILONG_SCORING_PROFILE_ALSO=tt-01-2018"):
        load_profile(TT01)
    with pytest.raises(ProfileError, match="takes a TT 01/2018 profile"):
        load_profile("hcmc-104-2024", "vn-766")
    merged = load_profile("hcmc-104-2024", TT01)
    assert [q.field for q in merged.survey.questions][-1] == "agencies_contacted"
    assert merged.fingerprint() != load_profile("hcmc-104-2024").fingerprint()


def test_the_citizen_is_asked_the_tt01_question_on_the_phone(
    both: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """The question of the profile beside joins the phone page, optional, after the four."""
    office = Office(both, make_key)
    office.handover("F1", "79.BTH", f"2025-09-10T09:00:00{VN}", f"2025-09-11T17:00:00{VN}")
    path = f"/s/{office.tokens['F1']}"
    html = both.get(path).text
    assert "Để hoàn thiện hồ sơ, ông/bà đã phải liên hệ những nơi nào?" in html
    assert html.index('name="overall"') < html.index('name="agencies_contacted"')
    form = {
        "timeliness": "on_time",
        "supplement_requests": "none",
        "staff_attitude": "good",
        "overall": "satisfied",
        "agencies_contacted": "one_more",
        "lang": "vi",
    }
    assert both.post(path, data=form, follow_redirects=False).status_code == 303
    with db() as session:
        stored = session.exec(sqlmodel_select(Response)).one()
    assert stored.agencies_contacted == "one_more"
    # Not required: a citizen who skips it is not held up.
    office.handover("F2", "79.BTH", f"2025-09-10T09:00:00{VN}", f"2025-09-11T17:00:00{VN}")
    skipped = {k: v for k, v in form.items() if k != "agencies_contacted"}
    response = both.post(f"/s/{office.tokens['F2']}", data=skipped, follow_redirects=False)
    assert response.status_code == 303
    # An answer the question does not offer is refused, naming it.
    office.handover("F3", "79.BTH", f"2025-09-10T09:00:00{VN}", f"2025-09-11T17:00:00{VN}")
    refused = both.post(
        f"/s/{office.tokens['F3']}", data={**form, "agencies_contacted": "all_of_them"}
    )
    assert refused.status_code == 422 and 'id="err-agencies_contacted"' in refused.text


def test_who_may_read_a_dossier_score(both: TestClient, make_key: KeyFactory) -> None:
    office = Office(both, make_key)
    office.handover("R1", "79.BTH", f"2025-09-10T09:00:00{VN}", f"2025-09-11T17:00:00{VN}")
    assert both.get("/api/v1/dossiers/R1/score").status_code == 401
    for role in ("issuer", "reader", "manager", "admin", "kiosk", "auditor"):
        response = both.get("/api/v1/dossiers/R1/score", headers=make_key(role))
        expected = 200 if role in ("reader", "manager", "admin") else 403
        assert response.status_code == expected, (role, response.text)
    # A key scoped to the dossier's agency (or above it) reads it.
    assert (
        both.get("/api/v1/dossiers/R1/score", headers=make_key("reader", "79")).status_code == 200
    )


def test_exports_of_the_tt01_scores(both: TestClient, make_key: KeyFactory) -> None:
    office = Office(both, make_key)
    seed_september(office)
    office.client.put(
        "/api/v1/agencies/79.BTH/periods/2025-09/inputs",
        json={"indicators": {"desk_organisation": 2, "public_posting": 1, "online_services": 2}},
        headers=office.admin,
    )
    query = {"period": "2025-09", "parent_code": "79", "profile": TT01}
    text = both.get("/api/v1/scores.csv", params=query, headers=office.admin).text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = rows[0]
    assert header[4] == "Tổng điểm (0-18)" and header[9].startswith("1. Tổng thời gian")
    bth = next(r for r in rows[1:] if r[0] == "79.BTH")
    assert close(float(bth[4]), Fraction(67, 6)) and bth[5] == "Đạt"
    book = load_workbook(
        io.BytesIO(both.get("/api/v1/scores.xlsx", params=query, headers=office.admin).content)
    )
    sheet = book.worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == header
    assert next(v for v in values[1:] if v[0] == "79.BTH")[5] == "Đạt"
    # The K export of the same service keeps its own columns.
    k_text = both.get("/api/v1/scores.csv", params={"period": "2025-09"}, headers=office.admin).text
    assert "K (0-22)" in k_text.splitlines()[0]


def test_the_tt01_export_says_who_entered_the_entered_indicators_and_whose_period_they_are(
    both: TestClient, make_key: KeyFactory
) -> None:
    """(reports audit) The K export says who entered D and E and when; the TT 01 export
    showed September's indicators 5, 6 and 9 with nothing saying that they were entered,
    by whom, or that they are 2025-Q3's (the JSON: `entered`, `entered_from`)."""
    office = Office(both, make_key)
    seed_september(office)
    entered = both.put(
        "/api/v1/agencies/79.BTH/periods/2025-Q3/inputs",
        json={"indicators": {"desk_organisation": 2, "public_posting": 1, "online_services": 2}},
        headers=office.admin,
    )
    assert entered.status_code == 200, entered.text
    query = {"period": "2025-09", "parent_code": "79", "profile": TT01}
    [score] = [
        s
        for s in both.get("/api/v1/scores", params=query, headers=office.admin).json()["data"]
        if s["agency_code"] == "79.BTH"
    ]
    text = both.get("/api/v1/scores.csv", params=query, headers=office.admin).text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = rows[0]
    row = dict(zip(header, next(r for r in rows[1:] if r[0] == "79.BTH"), strict=True))
    assert score["entered"]["set_by"].endswith("test admin")
    assert row["Chỉ tiêu nhập bởi"].endswith("test admin"), row
    # The same instant, written in local time (the JSON writes UTC): comparing the two
    # texts' dates failed between 17:00 and 24:00 UTC, when Vietnam is already a day ahead.
    written = datetime.fromisoformat(row["Chỉ tiêu nhập lúc"])
    assert written == datetime.fromisoformat(score["entered"]["set_at"])
    assert written.utcoffset() == timedelta(hours=7), row
    assert row["Chỉ tiêu nhập của kỳ"] == "2025-Q3"
    book = load_workbook(
        io.BytesIO(both.get("/api/v1/scores.xlsx", params=query, headers=office.admin).content)
    )
    values = [[c.value for c in r] for r in book.worksheets[0].iter_rows()]
    assert values[0] == header


def test_a_dossier_code_two_agencies_share(both: TestClient, make_key: KeyFactory) -> None:
    """Codes are unique per agency: each key finds the one it can see; a key that sees both
    says which with agency_code."""
    office = Office(both, make_key)
    office.handover("SHARED", "79.BTH", f"2025-09-10T09:00:00{VN}", f"2025-09-12T17:00:00{VN}")
    office.handover("SHARED", "79.SGN", f"2025-09-10T09:00:00{VN}", f"2025-09-10T17:00:00{VN}")
    both_seen = both.get("/api/v1/dossiers/SHARED/score", headers=office.admin)
    assert both_seen.status_code == 409 and "agency_code" in both_seen.text
    chosen = both.get(
        "/api/v1/dossiers/SHARED/score", params={"agency_code": "79.SGN"}, headers=office.admin
    )
    assert chosen.json()["agency_code"] == "79.SGN"
    # Resolved on its due day: indicator 1 is 1 (79.BTH's, two days early, would be 2).
    assert points(chosen.json())["total_time"] == 1
    ward = make_key("reader", agency="79.BTH")
    mine = both.get("/api/v1/dossiers/SHARED/score", headers=ward)
    assert mine.status_code == 200 and mine.json()["agency_code"] == "79.BTH"
    other = both.get(
        "/api/v1/dossiers/SHARED/score", params={"agency_code": "79.SGN"}, headers=ward
    )
    assert other.status_code == 404


def test_indicators_are_entered_only_within_the_key_s_tree(
    both: TestClient, make_key: KeyFactory
) -> None:
    """A manager of another ward, or the ward's own manager, cannot enter 79.BTH's
    indicators; the city's manager (above it) can."""
    body = {"indicators": {"public_posting": 2}}
    url = "/api/v1/agencies/79.BTH/periods/2025-09/inputs"
    for outsider in (make_key("manager", agency="79.SGN"), make_key("manager", agency="79.BTH")):
        refused = both.put(url, json=body, headers=outsider)
        assert refused.status_code == 403, refused.text
    city = make_key("manager", agency="79")
    assert both.put(url, json=body, headers=city).status_code == 200
    score = both.get(
        "/api/v1/agencies/79.BTH/scores/2025-09", params={"profile": TT01}, headers=city
    ).json()
    assert points(score)["public_posting"] == 2


def test_every_status_the_dossier_score_answers_is_documented(
    both: TestClient, make_key: KeyFactory
) -> None:
    """Two agencies the key sees hold the dossier code: a 409 (agency_code says which),
    which /openapi.json did not list (contract audit; API.md: it "must agree")."""
    issuer, admin = make_key("issuer"), make_key("admin")
    for agency in ("79.BTH", "79.SGN"):
        issued = both.post(
            "/api/v1/handovers",
            json=handover_body(dossier_code="HS-1", agency_code=agency),
            headers=issuer,
        )
        assert issued.status_code == 201, issued.text
    answer = both.get("/api/v1/dossiers/HS-1/score", headers=admin)
    assert answer.status_code == 409, answer.text
    documented = both.get("/openapi.json").json()["paths"]["/api/v1/dossiers/{dossier_code}/score"]
    assert str(answer.status_code) in documented["get"]["responses"], sorted(
        documented["get"]["responses"]
    )


@pytest.mark.parametrize("bad", ["2", True])
def test_entered_indicators_are_json_numbers_as_d_and_e_are(
    both: TestClient, make_key: KeyFactory, bad: object
) -> None:
    """(review) The body's TT 01 indicators took "2" and true as 2 and 1, as D and E did."""
    url = "/api/v1/agencies/79.BTH/periods/2025-09/inputs"
    refused = both.put(url, json={"indicators": {"public_posting": bad}}, headers=make_key("admin"))
    assert refused.status_code == 422, refused.text
    taken = both.put(url, json={"indicators": {"public_posting": 2}}, headers=make_key("admin"))
    assert taken.status_code == 200, taken.text


def _de_card(console: ConsoleClient) -> str:
    """The console's D/E card for 79.BTH's September, as text, read by the ward's manager."""
    page = console.get("/console/a/79.BTH?period=2025-09").text
    found = re.search(r'<section class="card" id="inputs".*?</section>', page, re.S)
    assert found
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0)))


def test_entered_indicators_are_not_said_to_update_d_and_e(
    both: TestClient, make_key: KeyFactory
) -> None:
    """(audit) The console's D/E card said D and E were "last updated by" whoever had only
    entered the period's TT 01 indicators 5, 6 and 9, though nobody had entered D or E; once
    D was entered, it named whoever saved the indicators after."""
    url = "/api/v1/agencies/79.BTH/periods/2025-09/inputs"
    city = make_key("manager", agency="79")  # "test manager", above the ward
    indicators = {"indicators": {"desk_organisation": 2, "public_posting": 1}}
    entered = both.put(url, json=indicators, headers=city)
    assert entered.status_code == 200, entered.text
    assert entered.json()["inputs"] == {"d": None, "e": None}
    console = ConsoleClient(both)
    console.sign_in(raw_key(make_key("manager", agency="79.BTH")))
    card = _de_card(console)
    assert "Cập nhật lần cuối bởi" not in card and "Chưa nhập cho kỳ này." in card, card

    # D by the admin, then the indicators again by the city's manager: the card names the
    # admin, who changed D.
    assert both.put(url, json={"d": 17.5}, headers=make_key("admin")).status_code == 200
    again = both.put(url, json={"indicators": {"online_services": 2}}, headers=city)
    assert again.status_code == 200, again.text
    card = _de_card(console)
    assert "Cập nhật lần cuối bởi test admin" in card and "test manager" not in card, card


def test_explain_refuses_a_profile_it_does_not_explain(
    both: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    """(contract audit) explain had no `profile=`: asked for TT 01 (or a typo), it answered
    K's explanation with a 200, as if it explained the profile asked for."""
    reader = make_key("reader")
    url = "/api/v1/agencies/G22.39/scores/2025-Q3"
    assert both.get(f"{url}?profile={TT01}", headers=reader).json()["profile"] == TT01
    for asked in (TT01, "tt-01-2O18"):
        refused = both.get(f"{url}/explain", params={"profile": asked}, headers=reader)
        assert refused.status_code == 422, refused.text
        assert refused.json()["fields"][0]["field"] == "profile"
    for main in ({}, {"profile": "hcmc-104-2024"}):
        explained = both.get(f"{url}/explain", params=main, headers=reader)
        assert explained.status_code == 200 and explained.json()["profile"] == "hcmc-104-2024"


def test_a_dossier_s_score_by_its_code_padded_as_it_was_handed_over(
    both: TestClient, make_key: KeyFactory
) -> None:
    """(review) A handover takes "D4   " (a fixed-width column) as D4; its score by the same
    padded code in the path was a 404."""
    office = Office(both, make_key)
    seed_september(office)
    assert both.get("/api/v1/dossiers/D4/score", headers=office.admin).status_code == 200
    padded = both.get(f"/api/v1/dossiers/{quote('D4   ')}/score", headers=office.admin)
    assert padded.status_code == 200, padded.text
