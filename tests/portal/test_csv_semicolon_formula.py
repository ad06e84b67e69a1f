"""(reports audit) CSV exports opened by double-click in Excel on Vietnamese Windows, whose
list separator is ';' (service/csv_cells.py says so itself: such Excel saves "CSV" with semicolons).

Excel then splits each line at ';' (honouring quotes). A text the csv module leaves unquoted
because it holds no comma or quote, such as a procedure name an issuer sent or a citizen's
comment `Hồ sơ;=cmd|' /C calc'!A0`, becomes two cells, the second a formula: the
leading-character escape of csv_cell never sees that second cell."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.admin.agencies import upsert_agency
from service.db import transaction
from tests.conftest import KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")
PAYLOAD = "Cấp giấy phép;=cmd|' /C calc'!A0"
COMMENT = "Cán bộ rất tốt;@SUM(1+1)*cmd|' /C calc'!A0"


def _cells_as_semicolon_excel_reads(text: str) -> list[str]:
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";")
    return [cell for row in rows for cell in row]


def _formula_cells(text: str) -> list[str]:
    return [c for c in _cells_as_semicolon_excel_reads(text) if c[:1] in ("=", "+", "-", "@")]


def _answered(client: TestClient, make_key: KeyFactory) -> None:
    body = handover_body(dossier_code="INJ-1", agency_code="79.BTH", procedure_name=PAYLOAD)
    issued = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
    assert issued.status_code == 201, issued.text
    answer = {
        "token": issued.json()["survey_url"].rsplit("/", 1)[1],
        "submitted_at": "2025-09-15T15:00:00+07:00",
        "answers": {
            "timeliness": "on_time",
            "supplement_requests": "none",
            "staff_attitude": "good",
            "overall": "satisfied",
            "complaint": COMMENT,
        },
        "source": "phone",
    }
    answered = client.post("/api/v1/responses", json=answer, headers=make_key("admin"))
    assert answered.status_code == 201, answered.text


def test_evaluation_csv_has_no_formula_once_split_at_semicolons(
    client: TestClient, make_key: KeyFactory
) -> None:
    _answered(client, make_key)
    response = client.get(
        "/api/v1/evaluations.csv",
        params={"period": "2025-09", "include_private": "true"},
        headers=make_key("admin"),
    )
    assert response.status_code == 200, response.text
    assert PAYLOAD.split(";")[0] in response.text  # the row is there
    assert _formula_cells(response.text) == []


def test_score_csv_has_no_formula_once_split_at_semicolons(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine
) -> None:
    with transaction(engine) as session:
        upsert_agency(session, "79.XYZ", "Phường Mới;=cmd|' /C calc'!A0", "79", actor="test")
    response = client.get(
        "/api/v1/scores.csv", params={"period": "2025-Q3"}, headers=make_key("reader")
    )
    assert response.status_code == 200, response.text
    assert _formula_cells(response.text) == []
