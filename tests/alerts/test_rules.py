"""The other rules: a petition near its deadline in working days, a staff member's C
falling (only where the anonymity minimum allows), the response rate below its floor."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.alerts.evaluate import working_days_left
from service.db import transaction
from service.models import Invitation
from service.settings import Settings
from tests.alerts.conftest import VN, Office, alerts, evaluate
from tests.conftest import KeyFactory

pytestmark = pytest.mark.usefixtures("agencies")
# Thursday 18/9/2025; Saturday 20 and Sunday 21 are the weekend.
THURSDAY = datetime.fromisoformat(f"2025-09-18T10:00:00{VN}")


def test_working_days_left_skip_the_weekend_and_days_off() -> None:
    thursday, monday, tuesday = date(2025, 9, 18), date(2025, 9, 22), date(2025, 9, 23)
    assert working_days_left(thursday, thursday, {}) == 0  # due today
    assert working_days_left(thursday, monday, {}) == 2  # Friday, Monday
    assert working_days_left(thursday, tuesday, {}) == 3
    assert working_days_left(thursday, tuesday, {date(2025, 9, 19): False}) == 2


def test_petition_within_two_working_days_of_its_deadline(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    office: Office,
) -> None:
    received = f"2025-09-01T09:00:00{VN}"
    # Four calendar days away but two working days (Friday, Monday): alert.
    office.petition("P-MON", "79.BTH", received_at=received, deadline_at=f"2025-09-22T17:00:00{VN}")
    # Three working days away: not yet.
    office.petition("P-TUE", "79.BTH", received_at=received, deadline_at=f"2025-09-23T17:00:00{VN}")
    # Handled already, or already past its deadline: nothing to warn about.
    office.petition(
        "P-DONE",
        "79.BTH",
        received_at=received,
        deadline_at=f"2025-09-19T17:00:00{VN}",
        handled_at=f"2025-09-15T09:00:00{VN}",
    )
    office.petition(
        "P-LATE", "79.BTH", received_at=received, deadline_at=f"2025-09-17T17:00:00{VN}"
    )

    evaluate(client, settings, THURSDAY)
    found = [a for a in alerts(engine) if a.rule == "petition_deadline"]
    assert [(a.subject, a.period, a.values["working_days_left"]) for a in found] == [
        ("P-MON", "2025-Q3", 2)
    ]
    assert found[0].values["threshold"] == 2  # the profile's petition_deadline_working_days

    # Friday declared a day off: Tuesday's deadline is now two working days away too.
    response = client.put(
        "/api/v1/calendar/overrides/2025-09-19", json={"working": False}, headers=make_key("admin")
    )
    assert response.status_code == 200, response.text
    evaluate(client, settings, THURSDAY)
    evaluate(client, settings, THURSDAY)
    found = [a for a in alerts(engine) if a.rule == "petition_deadline"]
    assert sorted(a.subject for a in found) == ["P-MON", "P-TUE"]


def test_a_petition_whose_deadline_was_extended_is_warned_again_before_the_new_one(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office
) -> None:
    """(alerts audit) The national system extends a petition's deadline (gia hạn) from
    Friday 19/9 to Tuesday 30/9, the same quarter. Warned on Thursday 18/9 for the first;
    on Monday 29/9, one working day from the new one and still unhandled, nobody was told:
    the alert's key (agency, rule, petition code, period) was taken. Each deadline is
    warned of once."""
    received = f"2025-09-01T09:00:00{VN}"
    office.petition("P-1", "79.BTH", received_at=received, deadline_at=f"2025-09-19T17:00:00{VN}")
    assert evaluate(client, settings, datetime.fromisoformat(f"2025-09-18T10:00:00{VN}"))
    office.petition("P-1", "79.BTH", received_at=received, deadline_at=f"2025-09-30T17:00:00{VN}")
    for _ in range(2):
        evaluate(client, settings, datetime.fromisoformat(f"2025-09-29T10:00:00{VN}"))
    found = [
        (a.subject, a.period, a.values["deadline_at"])
        for a in alerts(engine)
        if a.rule == "petition_deadline"
    ]
    assert found == [
        ("P-1", "2025-Q3", "2025-09-19T10:00:00+00:00"),
        ("P-1", "2025-Q3", "2025-09-30T10:00:00+00:00"),
    ]


def test_staff_c_falling_respects_the_anonymity_minimum(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office
) -> None:
    profile = client.app.state.profile  # type: ignore[attr-defined]
    assert profile.staff.min_evaluations_for_staff == 5
    plan = {
        # staff: (answers in 2025-Q2, answers in 2025-Q3)
        "CB003": (["good"] * 5, ["good"] * 2 + ["poor"] * 3),  # C 1.0 -> 0.4: falls
        "CB013": (["good"] * 4, ["poor"] * 5),  # Q2 below the minimum: not compared
        "CB023": (["good"] * 5, ["good"] * 4),  # Q3 below the minimum: not compared
        "CB033": (["good"] * 5, ["good"] * 4 + ["normal"]),  # 1.0 -> 0.8: a drop of 0.2
        "CB043": (["good"] * 5, ["good"] * 5),  # steady
        # CB013's 4 answers in Q2 and CB023's 4 in Q3 are what the agency's C less the shown
        # staff's would give: one shown staff member is hidden with them in each quarter,
        # the one with the fewest answers, the first by code among equals (staff.py).
        "CB000": (["good"] * 5, ["good"] * 5),
    }
    n = 0
    for staff, (before, after) in plan.items():
        for day, answers in (("2025-06-10", before), ("2025-09-10", after)):
            for attitude in answers:
                n += 1
                office.dossier(f"S-{n}", "79.BTH", day, returning=staff, answer=attitude)

    evaluate(client, settings, datetime.fromisoformat(f"2025-09-20T10:00:00{VN}"))
    found = sorted(
        (a for a in alerts(engine) if a.rule == "staff_c_falling"), key=lambda a: a.subject
    )
    assert [(a.subject, a.period) for a in found] == [("CB003", "2025-Q3"), ("CB033", "2025-Q3")]
    assert found[0].values == {
        "c": 0.4,
        "previous_c": 1.0,
        "previous_period": "2025-Q2",
        "drop": 0.6,
        "threshold": 0.2,
        "evaluations": 5,
        "previous_evaluations": 5,
    }


def test_response_rate_below_the_floor(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office
) -> None:
    """Invitations count in the period of their issue: 20 issued, 2 answered is 0.1 < 0.3;
    20 issued and 10 answered is fine; 19 issued is too few to judge. Only invitations
    issued `response_rate_settle_days` (3) days before are judged: the morning's are not
    unanswered yet (alerts audit: 20 handovers raised it at once, and only once a period)."""
    for agency, issued, answered in (("79.SGN", 20, 2), ("79.BTH", 20, 10), ("79.STP", 19, 0)):
        for i in range(issued):
            token = office.dossier(f"{agency}-R{i}", agency, "2025-09-10")
            if i < answered:
                office.answer(token, "good")
    issued_at = datetime.fromisoformat(f"2025-09-10T10:00:00{VN}")
    with transaction(engine) as session:
        session.execute(sa.update(Invitation).values(issued_at=issued_at))

    assert evaluate(client, settings, datetime.fromisoformat(f"2025-09-12T10:00:00{VN}")) == []
    evaluate(client, settings, datetime.fromisoformat(f"2025-09-13T10:00:01{VN}"))
    found = [a for a in alerts(engine) if a.rule == "response_rate_low"]
    assert [(a.agency_id, a.subject, a.period) for a in found] == [
        (found[0].agency_id, "", "2025-Q3")
    ]
    assert found[0].values == {
        "rate": 0.1,
        "issued": 20,
        "answered": 2,
        "floor": 0.3,
        "min_issued": 20,
        "settle_days": 3,
    }
    listed = client.get(
        "/api/v1/alerts", params={"rule": "response_rate_low"}, headers=office.admin
    )
    assert [a["agency_code"] for a in listed.json()["data"]] == ["79.SGN"]


def test_a_c_that_did_not_fall_is_never_announced_as_falling(
    client: TestClient,
    engine: sa.Engine,
    settings: Settings,
    office: Office,
    make_key: KeyFactory,
) -> None:
    """README and rules.py: the rule fires when a C "is lower than in the previous period by
    at least the threshold". An agency's threshold may be any drop above 0, and the slack
    added to every drop (evaluate.FLOAT_SLACK) let one at or under it announce an officer
    whose C did not fall at all, drop 0, to every manager (alerts audit)."""
    put = client.put(
        "/api/v1/agencies/79.BTH/alert-rules",
        json={"staff_c_falling": {"enabled": True, "threshold": 1e-9}},
        headers=make_key("admin"),
    )
    assert put.status_code == 200, put.text  # accepted: a drop above 0
    n = 0
    for day in ("2025-06-10", "2025-09-10"):
        for _ in range(5):
            n += 1
            office.dossier(f"S-{n}", "79.BTH", day, returning="CB003", answer="good")
    evaluate(client, settings, datetime.fromisoformat(f"2025-09-20T10:00:00{VN}"))
    falling = [a for a in alerts(engine) if a.rule == "staff_c_falling"]
    # C is 1.0 in both quarters: it did not fall.
    assert [(a.subject, a.values["drop"]) for a in falling] == []


def test_invitations_of_a_quarters_last_days_are_judged_once_settled(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office
) -> None:
    """(alerts audit) The response rate was judged for the watched period only, and an
    invitation counts once `response_rate_settle_days` old: those of a quarter's last
    days settled only once the next quarter was watched, and were never judged. Twenty
    issued on 29/9, none answered, and Q3's rate of 0 % was never announced."""
    for i in range(20):
        office.dossier(f"79.SGN-R{i}", "79.SGN", "2025-09-29")
    with transaction(engine) as session:
        session.execute(
            sa.update(Invitation).values(
                issued_at=datetime.fromisoformat(f"2025-09-29T10:00:00{VN}")
            )
        )
    assert evaluate(client, settings, datetime.fromisoformat(f"2025-09-30T16:00:00{VN}")) == []
    for day in ("2025-10-02T10:00:01", "2025-10-15T10:00:00", "2025-12-31T10:00:00"):
        evaluate(client, settings, datetime.fromisoformat(f"{day}{VN}"))
    found = [(a.rule, a.period) for a in alerts(engine) if a.rule == "response_rate_low"]
    assert found == [("response_rate_low", "2025-Q3")]
