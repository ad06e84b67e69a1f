"""Counts and flags as JSON gives them (service/web/schemas.py WholeCount, Flag): pydantic's
lax mode took true as 1 supplement request, "1_0" as 10, "yes" and 1 as true and "off" as
false, and stored what it guessed (audit). Digits and "true"/"false" as text still pass:
that is how an import reads a spreadsheet's cells (tests/imports)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import CalendarOverride, Dossier, Petition
from tests.conftest import DbFactory, KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")


def _refused_naming(response: Any, field: str, problem: str) -> None:
    assert response.status_code == 422, response.text
    [error] = response.json()["fields"]
    assert error == {"field": field, "problem": problem}


@pytest.mark.parametrize("sent", [True, False, "1_0", "2.0", "٣", "two", [1], 1.5])
def test_a_dossiers_supplement_requests_are_a_whole_number(
    client: TestClient, make_key: KeyFactory, db: DbFactory, sent: object
) -> None:
    body = handover_body(supplement_requests=sent)
    response = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
    problem = "must be a whole number, such as 0, 1 or 2"
    _refused_naming(response, "supplement_requests", problem)
    with db() as session:
        assert session.exec(select(Dossier)).first() is None


@pytest.mark.parametrize(("sent", "stored"), [(2, 2), (2.0, 2), ("2", 2), (" 3 ", 3)])
def test_a_count_as_json_or_as_a_cells_digits_is_taken(
    client: TestClient, make_key: KeyFactory, db: DbFactory, sent: object, stored: int
) -> None:
    body = handover_body(supplement_requests=sent)
    response = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
    assert response.status_code == 201, response.text
    with db() as session:
        assert session.exec(select(Dossier.supplement_requests)).one() == stored


PETITION = {
    "petition_code": "PAKN-1",
    "agency_code": "G22.39",
    "received_at": "2025-09-10T08:00:00+07:00",
}


@pytest.mark.parametrize("field", ["result_complaint", "within_authority"])
@pytest.mark.parametrize("sent", ["yes", "off", 1, 0, "1", "có"])
def test_a_petitions_flags_are_true_or_false(
    client: TestClient, make_key: KeyFactory, db: DbFactory, field: str, sent: object
) -> None:
    body = {**PETITION, field: sent}
    response = client.post("/api/v1/petitions", json=body, headers=make_key("admin"))
    _refused_naming(response, field, "must be true or false")
    with db() as session:
        assert session.exec(select(Petition)).first() is None


@pytest.mark.parametrize(("sent", "stored"), [(False, False), ("false", False), (" TRUE ", True)])
def test_a_flag_as_json_or_as_a_cells_word_is_taken(
    client: TestClient, make_key: KeyFactory, db: DbFactory, sent: object, stored: bool
) -> None:
    body = {**PETITION, "within_authority": sent}
    response = client.post("/api/v1/petitions", json=body, headers=make_key("admin"))
    assert response.status_code == 201, response.text
    with db() as session:
        assert session.exec(select(Petition.within_authority)).one() is stored


@pytest.mark.parametrize("sent", ["no", 0, "off"])
def test_a_calendar_day_is_working_or_not_as_true_or_false(
    client: TestClient, make_key: KeyFactory, db: DbFactory, sent: object
) -> None:
    response = client.put(
        "/api/v1/calendar/overrides/2025-09-02", json={"working": sent}, headers=make_key("admin")
    )
    _refused_naming(response, "working", "must be true or false")
    with db() as session:
        assert session.exec(select(CalendarOverride)).first() is None


def test_a_contacts_consent_is_true_or_false(client: TestClient, make_key: KeyFactory) -> None:
    body = handover_body(contact={"email": "an@example.vn", "consent": "yes"})
    response = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
    _refused_naming(response, "contact.consent", "must be true or false")
