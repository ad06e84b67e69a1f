"""`hailong purge`: old contact details and free text go, scores stay exactly as they were."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import Petition, Response, ResponseContact
from tests.cli_runner import cli_for
from tests.conftest import DbFactory, KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")


def _answer(client: TestClient, make_key: KeyFactory, code: str, at: str) -> None:
    issued = client.post(
        "/api/v1/handovers", json=handover_body(dossier_code=code), headers=make_key("issuer")
    ).json()
    body = {
        "token": issued["survey_url"].rsplit("/", 1)[1],
        "submitted_at": at,
        "answers": {
            "timeliness": "on_time",
            "supplement_requests": "none",
            "staff_attitude": "poor",
            "overall": "unsatisfied",
            "complaint": f"Khiếu nại {code}",
        },
        "contact": "0901234567",
        "contact_consent": True,
    }
    assert client.post("/api/v1/responses", json=body, headers=make_key("admin")).status_code == 201


def test_purge_removes_old_contacts_and_texts_and_keeps_scores(
    client: TestClient, make_key: KeyFactory, db: DbFactory, database_url: str
) -> None:
    _answer(client, make_key, "OLD", "2023-01-10T09:00:00+07:00")
    _answer(client, make_key, "NEW", "2025-09-20T09:00:00+07:00")
    admin = make_key("admin")
    before = [
        client.get(f"/api/v1/agencies/G22.39/scores/{p}", headers=admin).json()
        for p in ("2023", "2025")
    ]
    result = cli_for(database_url)("purge", "--older-than-days", "1000")
    assert result.exit_code == 0, result.output
    assert "1 contact(s), 1 complaint text(s)" in result.output
    with db() as session:
        complaints = {r.received_at.year: r.complaint for r in session.exec(select(Response))}
        contacts = session.exec(select(ResponseContact)).all()
        petitions = session.exec(select(Petition)).all()
    assert complaints == {2023: None, 2025: "Khiếu nại NEW"}
    assert len(contacts) == 1 and len(petitions) == 2  # petitions (and their dates) stay
    after = [
        client.get(f"/api/v1/agencies/G22.39/scores/{p}", headers=admin).json()
        for p in ("2023", "2025")
    ]
    strip = [{k: v for k, v in s.items() if k != "computed_at"} for s in (*before, *after)]
    assert strip[:2] == strip[2:]
