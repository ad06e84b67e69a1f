"""Text with a NUL character (\\u0000), which PostgreSQL cannot store: a 422 that says so,
never a 500 (found by the schemathesis fuzz run on /api/v1/petitions)."""

from __future__ import annotations

import io
import json

import docx
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import col, update

from service.models import Agency, Dossier, Petition
from tests.conftest import Backend, DbFactory, KeyFactory, handover_body
from tests.surveys.conftest import ANSWERS, issue

pytestmark = pytest.mark.usefixtures("agencies")


def test_a_petition_naming_a_nul_agency_is_refused(
    client: TestClient, make_key: KeyFactory
) -> None:
    # The fuzz run's case, as it sent it.
    body = {"agency_code": "\u0000", "petition_code": "0", "received_at": "2000-01-01T00:00:00Z"}
    response = client.post("/api/v1/petitions", json=body, headers=make_key("issuer"))
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_input"


def test_a_petition_with_nul_in_its_code_is_refused_naming_the_field(
    client: TestClient, make_key: KeyFactory
) -> None:
    """Refused by the input model on both databases (SQLite would store it; PostgreSQL's
    refusal came only from the error handler, and an import met it in its writing pass)."""
    body = {
        "agency_code": "79.BTH",
        "petition_code": "PA\u00001",
        "received_at": "2025-09-01T08:00:00+07:00",
    }
    response = client.post("/api/v1/petitions", json=body, headers=make_key("issuer"))
    assert response.status_code == 422, response.text
    [field] = response.json()["fields"]
    assert field == {
        "field": "petition_code",
        "problem": "must not contain the NUL character (\\u0000)",
    }


def test_a_nul_in_a_path_is_a_4xx_on_both_databases(
    client: TestClient, make_key: KeyFactory, backend: Backend
) -> None:
    """No model checks a path's code: on PostgreSQL the error handler answers the driver's
    refusal (a 422 that says so), SQLite finds no such agency."""
    response = client.get("/api/v1/agencies/%00/scores/2025-Q3", headers=make_key("reader"))
    if backend.name == "sqlite":
        assert response.status_code == 404, response.text
        return
    assert response.status_code == 422, response.text
    problem = "contains the NUL character (\\u0000), which cannot be stored"
    # Invalid input names its fields, as API.md says of every one (contract audit).
    assert response.json() == {
        "error": "invalid_input",
        "detail": f"code {problem}: remove it and send the request again.",
        "fields": [{"field": "code", "problem": problem}],
    }
    for path in ("/api/v1/scores?period=2025-Q3&agency_code=%00", "/api/v1/webhooks/%00"):
        told = client.get(path, headers=make_key("admin"))
        assert told.status_code in (404, 422), (path, told.text)
        if told.status_code == 422:
            assert told.json()["fields"][0]["problem"] == problem, told.text


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


# -- other control characters: documents cannot hold them (audit: a petition code with
# U+0001 from one ward's issuer made petitions.xlsx a 500 for every reader, and the
# province's DOCX report with it) -------------------------------------------------------
@pytest.mark.parametrize("char", ["\x01", "\x0b", "\x1f", "\ufffe", "\uffff"])
def test_control_characters_are_refused_naming_the_field(
    client: TestClient, make_key: KeyFactory, char: str
) -> None:
    issuer = make_key("issuer", agency="79.BTH")
    handover = handover_body(agency_code="79.BTH", procedure_name=f"Đăng ký{char}khai sinh")
    response = client.post("/api/v1/handovers", json=handover, headers=issuer)
    assert response.status_code == 422, response.text
    [field] = response.json()["fields"]
    assert field["field"] == "procedure_name"
    # U+FFFE and U+FFFF are no characters at all; XML 1.0 excludes them with the controls.
    assert f"U+{ord(char):04X}" in field["problem"]
    petition = {
        "agency_code": "79.BTH",
        "petition_code": f"PAKN{char}1",
        "received_at": "2025-08-01T09:00:00+07:00",
    }
    assert client.post("/api/v1/petitions", json=petition, headers=issuer).status_code == 422
    # Tabs and line breaks are text, not controls.
    fine = handover_body(agency_code="79.BTH", procedure_name="Đăng ký\tkhai sinh")
    assert client.post("/api/v1/handovers", json=fine, headers=issuer).status_code == 201


def test_one_stored_before_the_rule_still_exports(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """Rows stored before control characters were refused: shown as U+FFFD in the XLSX
    exports and the DOCX report, never a 500."""
    issuer, reader = make_key("issuer"), make_key("reader")
    body = handover_body(agency_code="79.BTH")  # resolved in 2025-Q3
    issued = client.post("/api/v1/handovers", json=body, headers=issuer)
    assert issued.status_code == 201
    token = issued.json()["survey_url"].rsplit("/", 1)[1]  # answered: evaluations.xlsx lists it
    answer = {"token": token, "answers": ANSWERS}
    assert client.post("/api/v1/responses", json=answer).status_code == 201
    petition = {
        "agency_code": "79.BTH",
        "petition_code": "PAKN-1",
        "received_at": "2025-08-01T09:00:00+07:00",
    }
    assert client.post("/api/v1/petitions", json=petition, headers=issuer).status_code == 201
    with db() as session:
        session.execute(update(Petition).values(code="PAKN\x01-1"))
        session.execute(update(Dossier).values(procedure_name="Đăng ký\uffffkhai sinh"))
        session.execute(
            update(Agency).where(col(Agency.code) == "79.BTH").values(name="Phường\x0bBến Thành")
        )
    period = {"period": "2025-Q3"}
    for path in ("/api/v1/petitions.xlsx", "/api/v1/scores.xlsx"):
        response = client.get(path, params=period, headers=reader)
        assert response.status_code == 200, (path, response.text)
    # The evaluation of that dossier (answered today), with its procedure's name.
    evaluations = client.get("/api/v1/evaluations.xlsx", headers=reader)
    assert evaluations.status_code == 200, evaluations.text
    sheet = load_workbook(io.BytesIO(evaluations.content)).active
    assert sheet is not None
    assert "Đăng ký\ufffdkhai sinh" in [c.value for row in sheet.iter_rows() for c in row]
    admin = make_key("admin")
    report = client.get("/api/v1/reports/79", params={**period, "format": "docx"}, headers=admin)
    assert report.status_code == 200, report.text
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(report.content)).paragraphs)
    tables = " ".join(
        c.text
        for t in docx.Document(io.BytesIO(report.content)).tables
        for r in t.rows
        for c in r.cells
    )
    assert "Phường\ufffdBến Thành" in text + tables


def test_a_complaint_with_half_a_surrogate_pair_is_refused(
    client: TestClient, make_key: KeyFactory
) -> None:
    """JSON's "\\ud800" decodes to a lone surrogate, which is no UTF-8: the database driver
    refused the complaint's row, a 500 (and a kiosk's outbox retried it for ever; audit)."""
    survey = issue(client, make_key)
    body = {"token": survey.token, "answers": {**ANSWERS, "complaint": "Chậm \ud800 quá"}}
    response = client.post(
        "/api/v1/responses",
        content=json.dumps(body),  # ensure_ascii: the surrogate travels as "\ud800"
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    [field] = response.json()["fields"]
    assert field["field"] == "answers.complaint" and "U+D800" in field["problem"]


def test_a_pairing_for_a_counter_code_with_nul_is_refused(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The pairing API took any counter code: on SQLite a counter 'Q\\x00' was created
    (PostgreSQL refused it later); the console checked the code, the API did not (audit)."""
    body = {"agency_code": "G22.39", "counter_code": "Q\u0000"}
    response = client.post("/api/v1/kiosk/pairings", json=body, headers=make_key("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == "counter_code"


@pytest.mark.parametrize("text", ["note\u0000", "note\u001b"])
@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("PUT", "/api/v1/agencies/79.BTH/periods/2025-Q3/inputs", {"e": 1}),
        ("PUT", "/api/v1/calendar/overrides/2025-09-06", {"working": True}),
    ],
)
def test_a_note_with_a_control_character_names_the_field(
    client: TestClient,
    make_key: KeyFactory,
    method: str,
    url: str,
    body: dict[str, object],
    text: str,
) -> None:
    """The D/E and calendar notes were stored with any control character on SQLite, and
    PostgreSQL's refusal of a NUL came from the error handler, naming no field (audit)."""
    answer = client.request(method, url, json=body | {"note": text}, headers=make_key("admin"))
    assert answer.status_code == 422, answer.text
    [field] = answer.json()["fields"]
    assert field["field"] == "note" and "must not contain" in field["problem"]


@pytest.mark.parametrize("field", ["name", "email"])
def test_an_official_with_a_control_character_names_the_field(
    client: TestClient, make_key: KeyFactory, field: str
) -> None:
    body = {"email": "a@example.vn", "name": "Nguyễn Văn A", "role": "manager"}
    body[field] = body[field] + "\u0007"
    answer = client.post("/api/v1/officials", json=body, headers=make_key("admin"))
    assert answer.status_code == 422, answer.text
    assert [f["field"] for f in answer.json()["fields"]] == [field]


def test_a_webhook_for_an_agency_code_with_a_nul_names_the_field(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(contract audit) On PostgreSQL the NUL reached the database, and the refusal named
    the field "body". A code is refused with any control character, on both databases."""
    for code in ("79\u0000", "7\u00019"):
        told = client.post(
            "/api/v1/webhooks",
            json={
                "url": "https://portal.example.vn/hook",
                "events": ["score.updated"],
                "agency_code": code,
            },
            headers=make_key("admin"),
        )
        assert told.status_code == 422, told.text
        assert told.json()["fields"][0]["field"] == "agency_code", told.text
