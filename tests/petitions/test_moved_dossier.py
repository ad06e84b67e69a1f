"""A petition naming a dossier whose agency has since moved out of the petition's agency's
tree (scope audit): the department's petition kept showing the moved ward's dossier code in
the department's explain, console inbox and petition page, its petition API answer and its
webhook events, and (review) its petition exports, to keys and officials who cannot see
that ward. The link is kept; the code is shown only while the dossier is the petition's
agency's or below it."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.admin.agencies import upsert_agency
from service.db import transaction
from service.models import OutboxEvent, Petition, utcnow
from tests.conftest import DbFactory, KeyFactory, earlier_today, handover_body
from tests.console.conftest import ConsoleClient, current_period, iso, raw_key

pytestmark = pytest.mark.usefixtures("agencies")
DEPARTMENT, WARD, ELSEWHERE = "79.BTH", "79.BTH.K1", "79.SGN"
DOSSIER, PETITION = "MOVED-DOSSIER-1", "PAKN-MOVED-1"


def _place(engine: sa.Engine, code: str, parent: str) -> None:
    with transaction(engine) as session:
        upsert_agency(session, code, f"Đơn vị {code}", parent, actor="test")


def _petition(client: TestClient, key: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"petition_code": PETITION, "agency_code": DEPARTMENT, **fields}
    response = client.post("/api/v1/petitions", json=body, headers=key)
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture
def moved(client: TestClient, make_key: KeyFactory, engine: sa.Engine) -> dict[str, str]:
    """The department's petition about its ward's dossier; then the ward moves away.
    Returns the admin key that made them."""
    _place(engine, WARD, DEPARTMENT)
    admin = make_key("admin")
    now = utcnow()
    body = handover_body(
        dossier_code=DOSSIER,
        agency_code=WARD,
        received_at=iso(now - timedelta(days=2)),
        due_at=iso(now + timedelta(days=1)),
        resolved_at=iso(earlier_today(timedelta(hours=1))),
        handed_over_at=None,
    )
    assert client.post("/api/v1/handovers", json=body, headers=admin).status_code == 201
    received = iso(earlier_today(timedelta(minutes=30)))  # in the current quarter
    before = _petition(client, admin, dossier_code=DOSSIER, received_at=received)
    assert before["dossier_code"] == DOSSIER  # shown while the ward is the department's
    _place(engine, WARD, ELSEWHERE)
    return admin


def test_the_departments_api_answers_name_no_dossier_of_a_ward_moved_away(
    client: TestClient, make_key: KeyFactory, moved: dict[str, str], db: DbFactory
) -> None:
    reader = make_key("reader", agency=DEPARTMENT)
    explain = client.get(
        f"/api/v1/agencies/{DEPARTMENT}/scores/{current_period()}/explain", headers=reader
    )
    assert explain.status_code == 200, explain.text
    rows = explain.json()["petitions"]["rows"]
    assert [(row["petition_code"], row["dossier_code"]) for row in rows] == [(PETITION, None)]

    handled = iso(utcnow())
    updated = _petition(client, moved, handled_at=handled, received_at=rows[0]["received_at"])
    assert updated["dossier_code"] is None
    with db() as session:
        event = session.exec(
            select(OutboxEvent)
            .where(OutboxEvent.type == "petition.updated")
            .order_by(col(OutboxEvent.id).desc())
        ).first()
        assert event is not None
        assert event.payload["petition_code"] == PETITION
        assert event.payload["dossier_code"] is None
        # The link itself is kept: the scores of the time were computed with it.
        assert session.exec(select(Petition.dossier_id).where(Petition.code == PETITION)).one()


def test_the_departments_console_names_no_dossier_of_a_ward_moved_away(
    client: TestClient, make_key: KeyFactory, moved: dict[str, str], db: DbFactory
) -> None:
    console = ConsoleClient(client)
    console.sign_in(raw_key(make_key("manager", agency=DEPARTMENT)))
    inbox = console.get(f"/console/a/{DEPARTMENT}/petitions?show=all")
    assert inbox.status_code == 200, inbox.text
    assert PETITION in inbox.text and DOSSIER not in inbox.text
    with db() as session:
        petition_id = session.exec(select(Petition.id).where(Petition.code == PETITION)).one()
    page = console.get(f"/console/petitions/{petition_id}")
    assert page.status_code == 200, page.text
    assert PETITION in page.text and DOSSIER not in page.text


def test_the_departments_petition_exports_name_no_dossier_of_a_ward_moved_away(
    client: TestClient, make_key: KeyFactory, moved: dict[str, str]
) -> None:
    """The rows themselves, with the dossier's other facts, were already limited to the
    key's scope; the code came from the petition's own link."""
    reader = make_key("reader", agency=DEPARTMENT)
    csv = client.get(f"/api/v1/petitions.csv?agency_code={DEPARTMENT}", headers=reader)
    assert csv.status_code == 200, csv.text
    assert PETITION in csv.text and DOSSIER not in csv.text
    manager = make_key("manager", agency=DEPARTMENT)
    xlsx = client.get(f"/api/v1/petitions.xlsx?agency_code={DEPARTMENT}", headers=manager)
    assert xlsx.status_code == 200, xlsx.text
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    sheet = book.active
    assert sheet is not None
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert PETITION in cells and DOSSIER not in cells
    # One rule for every key and every view (review): the province's key, which sees the
    # ward where it is now, reads the department's petition without it too, as in the
    # explain (the dossier is the ward's now, not the petition's agency's).
    province = make_key("reader", agency="79")
    whole = client.get(f"/api/v1/petitions.csv?agency_code={DEPARTMENT}", headers=province)
    assert whole.status_code == 200, whole.text
    assert PETITION in whole.text and DOSSIER not in whole.text
    explain = client.get(
        f"/api/v1/agencies/{DEPARTMENT}/scores/{current_period()}/explain", headers=province
    )
    assert [row["dossier_code"] for row in explain.json()["petitions"]["rows"]] == [None]
