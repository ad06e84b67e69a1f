"""Evaluations and petitions across the test agency tree, for the raw evaluation API and
its exports: around the Q3/Q4 boundary in local time, from several sources and staff."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import KeyFactory, handover_body

COMPLAINT = "=SUM(1) cán bộ hách dịch"
CONTACT = "0901234567"
FORMULA_NAME = '=HYPERLINK("http://evil.example","x")'
SATISFIED = {
    "timeliness": "on_time",
    "supplement_requests": "none",
    "staff_attitude": "good",
    "overall": "satisfied",
}


@dataclass(frozen=True)
class Seeded:
    ids: dict[str, int]  # evaluation name -> response id


def _evaluate(
    client: TestClient,
    admin: dict[str, str],
    name: str,
    agency: str,
    submitted_at: str,
    source: str = "phone",
    answers: dict[str, Any] | None = None,
    returning: str = "CB003",
    **extra: Any,
) -> int:
    issued = client.post(
        "/api/v1/handovers",
        json=handover_body(
            dossier_code=f"D-{name}",
            agency_code=agency,
            staff={"receiving": "CB001", "handling": "CB002", "returning": returning},
            **{k: v for k, v in extra.items() if k in ("procedure_name", "due_at")},
        ),
        headers=admin,
    )
    assert issued.status_code == 201, issued.text
    token = issued.json()["survey_url"].rsplit("/", 1)[1]
    body: dict[str, Any] = {
        "token": token,
        "answers": answers or SATISFIED,
        "source": source,
        "submitted_at": submitted_at,
    }
    body.update({k: v for k, v in extra.items() if k in ("contact", "contact_consent")})
    answered = client.post("/api/v1/responses", json=body, headers=admin)
    assert answered.status_code == 201, answered.text
    response_id: int = answered.json()["response_id"]
    return response_id


def seed(client: TestClient, make_key: KeyFactory) -> Seeded:
    admin = make_key("admin")
    ids = {
        # 23:30 on 30 September in Vietnam: Q3.
        "q3_last": _evaluate(client, admin, "q3_last", "G22.39", "2025-09-30T23:30:00+07:00"),
        # 00:30 on 1 October in Vietnam, still 30 September in UTC: Q4, as scores count it.
        "q4_first": _evaluate(
            client, admin, "q4_first", "G22.39", "2025-10-01T00:30:00+07:00", source="kiosk"
        ),
        "ward": _evaluate(
            client,
            admin,
            "ward",
            "79.BTH",
            "2025-09-16T09:00:00+07:00",
            source="kiosk",
            answers={**SATISFIED, "overall": "unsatisfied", "complaint": COMPLAINT},
            returning="CB009",
            contact=CONTACT,
            contact_consent=True,
            due_at="2025-09-12T17:00:00+07:00",  # resolved on the 15th: late
        ),
        "city": _evaluate(client, admin, "city", "79", "2025-09-10T09:00:00+07:00", source="api"),
        "other_ward": _evaluate(
            client,
            admin,
            "other_ward",
            "79.SGN",
            "2025-09-11T09:00:00+07:00",
            procedure_name=FORMULA_NAME,
        ),
    }
    return Seeded(ids)
