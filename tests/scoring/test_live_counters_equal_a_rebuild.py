"""The live day counters, and the scores read from them, after a sequence of handovers,
re-posts, answers, revokes, reissues, petitions and inputs: the same as a full recompute
(service.scoring.rebuild) finds."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import COUNT_COLUMNS, AgencyDayCounter, StaffDayCounter
from service.profile import load_profile
from service.scoring import siblings
from service.scoring.rebuild import rebuild
from tests.conftest import DbFactory, KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")
VN = "+07:00"
AGENCIES = ("79", "79.BTH", "79.SGN", "79.STP", "G22.39")
PERIODS = ("2025-08", "2025-09", "2025-10", "2025-Q3", "2025-Q4", "2025")


def _values(row: AgencyDayCounter | StaffDayCounter) -> tuple[int, ...]:
    return tuple(getattr(row, c) for c in COUNT_COLUMNS)


def _counters(db: DbFactory) -> dict[str, dict[tuple[int, str], tuple[int, ...]]]:
    """Every counter row that counts something, by agency (or officer) and day."""
    with db() as session:
        agencies = session.exec(select(AgencyDayCounter)).all()
        staff = session.exec(select(StaffDayCounter)).all()
        return {
            "agency": {
                (r.agency_id, r.day.isoformat()): _values(r) for r in agencies if any(_values(r))
            },
            "staff": {
                (r.staff_id, r.day.isoformat()): _values(r) for r in staff if any(_values(r))
            },
        }


def _scores(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for agency in AGENCIES:
        for period in PERIODS:
            r = client.get(f"/api/v1/agencies/{agency}/scores/{period}", headers=admin)
            assert r.status_code == 200, r.text
            body = r.json()
            body.pop("computed_at")
            seen[f"{agency} {period}"] = body
            s = client.get(f"/api/v1/agencies/{agency}/staff-scores/{period}", headers=admin)
            assert s.status_code == 200, s.text
            seen[f"{agency} {period} staff"] = s.json()
    return seen


def test_live_counters_after_a_sequence_of_changes_equal_a_rebuild(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """Each write moves the counters by its own difference (a dossier moved to another
    month and officer, a revoked one re-posted, a petition moved to another dossier): what
    they add up to, and every agency's and officer's score, is what a rebuild from the rows
    computes (audit)."""
    issuer, admin = make_key("issuer"), make_key("admin")
    tokens: dict[str, str] = {}

    def post(code: str, agency: str, resolved: str, due: str | None, **extra: Any) -> None:
        body = handover_body(
            dossier_code=code,
            agency_code=agency,
            received_at=f"2025-07-01T08:00:00{VN}",
            due_at=due,
            resolved_at=resolved,
            handed_over_at=None,
            **extra,
        )
        r = client.post("/api/v1/handovers", json=body, headers=issuer)
        assert r.status_code in (200, 201), r.text
        tokens[code] = r.json()["survey_url"].rsplit("/", 1)[1]

    def answer(code: str, at: str, **answers: Any) -> None:
        full = {
            "timeliness": "on_time",
            "supplement_requests": "none",
            "staff_attitude": "good",
            "overall": "satisfied",
            **answers,
        }
        body = {"token": tokens[code], "submitted_at": at, "answers": full}
        r = client.post("/api/v1/responses", json=body, headers=admin)
        assert r.status_code == 201, r.text

    def petition(code: str, agency: str, **fields: Any) -> None:
        body = {"petition_code": code, "agency_code": agency, **fields}
        r = client.post("/api/v1/petitions", json=body, headers=admin)
        assert r.status_code in (200, 201), r.text

    staff = {"receiving": "R1", "handling": "H1", "returning": "T1"}
    # D1: late by 6 working days, September; then moved to October, staff changed.
    post("D1", "79.BTH", f"2025-09-16T09:00:00{VN}", f"2025-09-08T17:00:00{VN}", staff=staff)
    answer("D1", f"2025-09-20T09:00:00{VN}", staff_attitude="poor", overall="unsatisfied")
    post(
        "D1",
        "79.BTH",
        f"2025-10-01T00:30:00{VN}",
        f"2025-09-08T17:00:00{VN}",
        staff={"receiving": "R1", "handling": "H2", "returning": "T2"},
    )
    # D2: revoked, re-posted into August (a fresh survey), answered in September.
    post("D2", "79.BTH", f"2025-09-02T09:00:00{VN}", None, staff=staff)
    r = client.post("/api/v1/handovers/D2/revoke", headers=issuer)
    assert r.status_code == 200, r.text
    post("D2", "79.BTH", f"2025-08-31T23:30:00{VN}", None, staff=staff, supplement_requests=3)
    answer("D2", f"2025-09-30T23:59:00{VN}", supplement_requests="twice_or_more")
    # D3..D8 for T1 (enough answers to show staff), some with complaints.
    for n in range(3, 9):
        post(
            f"D{n}",
            "79.BTH",
            f"2025-09-1{n}T09:00:00{VN}",
            f"2025-09-2{n}T17:00:00{VN}",
            staff=staff,
        )
        answer(
            f"D{n}",
            f"2025-09-2{n}T09:00:00{VN}",
            complaint="Chậm" if n % 2 else None,
            wants_reply=bool(n % 2),
            staff_attitude="normal" if n == 4 else "good",
        )
    # Petitions: imported about D3, handled late; one moved from D4 to D5; an open one.
    petition(
        "P1",
        "79.BTH",
        dossier_code="D3",
        received_at=f"2025-09-25T09:00:00{VN}",
        deadline_at=f"2025-09-26T17:00:00{VN}",
        handled_at=f"2025-09-29T09:00:00{VN}",
        citizen_verdict="unsatisfied",
    )
    petition("P2", "79.BTH", dossier_code="D4", received_at=f"2025-09-25T09:00:00{VN}")
    petition("P2", "79.BTH", dossier_code="D5", received_at=f"2025-10-02T09:00:00{VN}")
    petition("P3", "79", dossier_code="D6", received_at=f"2025-09-01T09:00:00{VN}")
    # D7 re-posted with a new due time (now on time), D8 moved to another returning officer.
    post("D7", "79.BTH", f"2025-09-17T09:00:00{VN}", None, staff=staff)
    post(
        "D8",
        "79.BTH",
        f"2025-09-18T09:00:00{VN}",
        f"2025-09-28T17:00:00{VN}",
        staff={"receiving": "R1", "handling": "H1", "returning": "T2"},
    )
    # Inputs
    r = client.put("/api/v1/agencies/79.BTH/periods/2025-09/inputs", json={"e": 1}, headers=admin)
    assert r.status_code == 200, r.text

    live_counters = _counters(db)
    live = _scores(client, admin)
    with db() as session:
        rebuild(session, load_profile("hcmc-104-2024"))
    siblings.forget()
    assert _counters(db) == live_counters
    assert _scores(client, admin) == live
