"""Text with a NUL character (\\u0000), which PostgreSQL cannot store: a 422 that says so,
never a 500 (found by the schemathesis fuzz run on /api/v1/petitions)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Backend, KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")


def test_a_petition_naming_a_nul_agency_is_refused(
    client: TestClient, make_key: KeyFactory
) -> None:
    # The fuzz run's case, as it sent it.
    body = {"agency_code": "\u0000", "petition_code": "0", "received_at": "2000-01-01T00:00:00Z"}
    response = client.post("/api/v1/petitions", json=body, headers=make_key("issuer"))
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_input"


def test_a_petition_with_nul_in_its_code_is_refused_with_a_sentence_on_postgresql(
    client: TestClient, make_key: KeyFactory, backend: Backend
) -> None:
    body = {
        "agency_code": "79.BTH",
        "petition_code": "PA\u00001",
        "received_at": "2025-09-01T08:00:00+07:00",
    }
    response = client.post("/api/v1/petitions", json=body, headers=make_key("issuer"))
    if backend.name == "sqlite":  # SQLite stores it as it came
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 422, response.text
    assert response.json() == {
        "error": "invalid_input",
        "detail": "A text value contains the NUL character (\\u0000), which cannot be stored. "
        "Remove it and send the request again.",
    }


def test_a_nul_in_a_path_is_not_a_server_error(client: TestClient, make_key: KeyFactory) -> None:
    response = client.get("/api/v1/agencies/%00/scores/2025-Q3", headers=make_key("reader"))
    assert response.status_code in (404, 422), response.text


@pytest.mark.parametrize(
    "change",
    [
        {"procedure_name": "Đăng ký\u0000 khai sinh"},
        {"staff": {"handling": "CB\u0000"}},
        {"counter_code": "\u0000"},
    ],
)
def test_a_handover_with_nul_text_names_the_field(
    client: TestClient, make_key: KeyFactory, change: dict[str, object]
) -> None:
    issuer = make_key("issuer")
    response = client.post("/api/v1/handovers", json=handover_body(**change), headers=issuer)
    assert response.status_code == 422, response.text
    [field] = response.json()["fields"]
    assert field["field"].startswith(next(iter(change)))
    assert "NUL" in field["problem"]
    # The same handover without it is issued.
    assert client.post("/api/v1/handovers", json=handover_body(), headers=issuer).status_code == 201
