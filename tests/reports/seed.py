"""A quarter (2025-Q3) and the one before it, seeded through the API, for the report tests.

Under 79: Bến Thành satisfied (K 21.5), Sài Gòn not (late dossiers, poor attitude: K 19),
Sở Tư pháp without evaluations (no K) and with two overdue petitions, Tân Định satisfied
(K 22) but with too few evaluations to name its staff.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import KeyFactory, handover_body

PERIOD, PREVIOUS = "2025-Q3", "2025-Q2"


def _dossier(
    client: TestClient,
    issuer: dict[str, str],
    admin: dict[str, str],
    code: str,
    agency: str,
    *,
    day: str,
    due: str | None = None,
    attitude: str | None = "good",
    returning: str = "CB003",
) -> None:
    body = handover_body(
        dossier_code=code,
        agency_code=agency,
        received_at=f"{due or day}T08:00:00+07:00"
        if due and due < day
        else f"{day}T08:00:00+07:00",
        due_at=f"{due or day}T17:00:00+07:00",
        resolved_at=f"{day}T10:00:00+07:00",
        handed_over_at=f"{day}T11:00:00+07:00",
        staff={"receiving": "CB001", "handling": "CB002", "returning": returning},
    )
    issued = client.post("/api/v1/handovers", json=body, headers=issuer)
    assert issued.status_code == 201, issued.text
    if attitude is None:
        return
    answer = {
        "token": issued.json()["survey_url"].rsplit("/", 1)[1],
        "submitted_at": f"{day}T15:00:00+07:00",
        "answers": {
            "timeliness": "on_time",
            "supplement_requests": "none",
            "staff_attitude": attitude,
            "overall": "satisfied" if attitude == "good" else "unsatisfied",
            "complaint": "",
        },
        "source": "phone",
    }
    answered = client.post("/api/v1/responses", json=answer, headers=admin)
    assert answered.status_code == 201, answered.text


def _inputs(
    client: TestClient, admin: dict[str, str], agency: str, period: str, d: float, e: int
) -> None:
    url = f"/api/v1/agencies/{agency}/periods/{period}/inputs"
    response = client.put(url, json={"d": d, "e": e}, headers=admin)
    assert response.status_code == 200, response.text


def seed_quarter(client: TestClient, make_key: KeyFactory) -> None:
    issuer, admin = make_key("issuer"), make_key("admin")
    # 2025-Q2: Sài Gòn first (K 22), Bến Thành second (K 20).
    for n in range(2):
        _dossier(client, issuer, admin, f"BTH-Q2-{n}", "79.BTH", day="2025-05-12")
        _dossier(client, issuer, admin, f"SGN-Q2-{n}", "79.SGN", day="2025-05-12")
    _inputs(client, admin, "79.BTH", PREVIOUS, 16, 1)
    _inputs(client, admin, "79.SGN", PREVIOUS, 18, 1)
    # 2025-Q3.
    for n in range(6):
        _dossier(client, issuer, admin, f"BTH-{n}", "79.BTH", day="2025-08-05")
    for n in range(6):
        late = n < 3  # due 1 Aug, resolved 15 Aug: 10 working days late
        _dossier(
            client,
            issuer,
            admin,
            f"SGN-{n}",
            "79.SGN",
            day="2025-08-15",
            due="2025-08-01" if late else None,
            attitude="poor" if n % 2 else "good",
            returning="CB013",
        )
    for n in range(2):
        _dossier(client, issuer, admin, f"STP-{n}", "79.STP", day="2025-09-03", attitude=None)
    for n in range(3):
        _dossier(client, issuer, admin, f"TDH-{n}", "G22.39", day="2025-09-04")
    _inputs(client, admin, "79.BTH", PERIOD, 17.5, 1)
    _inputs(client, admin, "79.SGN", PERIOD, 16, 1)
    _inputs(client, admin, "G22.39", PERIOD, 18, 1)
    for code, handled in (("PA-STP-LATE", "2025-08-15T09:00:00+07:00"), ("PA-STP-OPEN", None)):
        petition = {
            "petition_code": code,
            "agency_code": "79.STP",
            "received_at": "2025-07-01T09:00:00+07:00",
            "deadline_at": "2025-07-22T17:00:00+07:00",
            "handled_at": handled,
        }
        response = client.post("/api/v1/petitions", json=petition, headers=admin)
        assert response.status_code == 201, response.text
