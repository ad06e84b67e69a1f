"""Names and people as the report prints them: an agency name with a line break or a control
character in it, and who entered D and E (audit)."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from docx import Document
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import select

from service.admin.agencies import import_agencies_csv
from service.auth.officials import add_official, official_principal
from service.models import Agency
from service.periods import parse_period
from service.profile import load_profile
from service.scoring.inputs import set_inputs
from service.scoring.schemas import InputsUpdate
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.reports.seed import PERIOD

pytestmark = pytest.mark.usefixtures("agencies")


def _report(client: TestClient, make_key: KeyFactory, fmt: str) -> bytes:
    response = client.get(
        "/api/v1/reports/79", params={"period": PERIOD, "format": fmt}, headers=make_key("admin")
    )
    assert response.status_code == 200, response.text
    content: bytes = response.content
    return content


def _docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(lines)


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_a_name_typed_on_two_lines_is_stored_on_one_and_reported(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """Alt+Enter in an Excel cell puts a line break in the CSV's name: the parent's report
    was a 500 in both formats (the ranking chart could not measure a two-line name)."""
    with db() as session:
        import_agencies_csv(
            session, 'code,name,parent_code\n79.Q1,"UBND Phường\nBến Nghé",79\n', actor="test"
        )
    with db() as session:
        stored = session.exec(select(Agency).where(Agency.code == "79.Q1")).one()
        assert stored.name == "UBND Phường Bến Nghé"
    assert "UBND Phường Bến Nghé" in _docx_text(_report(client, make_key, "docx"))
    assert "UBND Phường Bến Nghé" in _pdf_text(_report(client, make_key, "pdf"))


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_a_name_stored_on_two_lines_before_still_makes_a_report(
    client: TestClient, make_key: KeyFactory, db: DbFactory, fmt: str
) -> None:
    with db() as session:
        session.execute(
            sa.text("UPDATE agency SET name = :name WHERE code = '79.SGN'"),
            {"name": "Phường\r\nSài\tGòn"},
        )
    assert _report(client, make_key, fmt)[:2] in (b"PK", b"%P")


def test_a_control_character_stored_in_the_parents_name_is_shown_not_a_500(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """Stored before such characters were refused: the DOCX report was a 500 (its author,
    the parent's name, was the one string not made fit for XML)."""
    with db() as session:
        session.execute(
            sa.text("UPDATE agency SET name = :name WHERE code = '79'"),
            {"name": "Thành phố\x0bHồ Chí Minh"},
        )
    document = Document(io.BytesIO(_report(client, make_key, "docx")))
    assert document.core_properties.author == "Thành phố\ufffdHồ Chí Minh"
    assert _report(client, make_key, "pdf").startswith(b"%PDF-")


def test_an_official_who_entered_d_and_e_is_named_not_their_actor_string(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """The report's sources table printed "do official:1:lan@hcm.gov.vn nhập ngày ...": the
    internal actor, where a key's entry prints the key's name. It names the official as
    the Score does, by name (scope audit: no mailbox in what other agencies read)."""
    with db() as session:
        official = add_official(session, "test", "lan@hcm.gov.vn", "Trần Thị Lan", "manager", "79")
        session.flush()
        assert official.id is not None
        who = official_principal(session, official.id)
        assert who is not None
        ward = session.exec(select(Agency).where(Agency.code == "79.BTH")).one()
        profile = load_profile("hcmc-104-2024")
        set_inputs(session, who, ward, parse_period(PERIOD), InputsUpdate(d=17.5, e=1), profile)
    text = _docx_text(_report(client, make_key, "docx"))
    assert "Nhập từ hệ thống phản ánh, kiến nghị, do Trần Thị Lan nhập ngày" in text
    assert "Cơ quan có thẩm quyền nhập, do Trần Thị Lan nhập ngày" in text
    assert "official:" not in text and "lan@hcm.gov.vn" not in text


def test_staff_withheld_for_too_few_answers_to_c_are_not_said_to_have_too_few_evaluations(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(audit) An officer with five evaluations, one of which answered staff_attitude, has B
    and C withheld (C would be that one answer): the report counted them as "có dưới 5 phiếu
    đánh giá", which their five evaluations belie; it now says B or C rests on fewer."""
    issuer, admin = make_key("issuer"), make_key("admin")
    for i in range(5):
        body = handover_body(
            dossier_code=f"IMP-{i}",
            agency_code="79.BTH",
            received_at="2025-08-01T08:00:00+07:00",
            due_at=None,
            resolved_at=f"2025-08-1{i}T09:00:00+07:00",
            handed_over_at=None,
        )
        made = client.post("/api/v1/handovers", json=body, headers=issuer)
        assert made.status_code == 201, made.text
        answers = {"timeliness": "on_time", "supplement_requests": "none"}
        answer = {
            "token": made.json()["survey_url"].rsplit("/", 1)[1],
            "submitted_at": f"2025-08-20T09:0{i}:00+07:00",
            "answers": {**answers, "staff_attitude": "poor"} if i == 0 else answers,
        }
        assert client.post("/api/v1/responses", json=answer, headers=admin).status_code == 201
    text = " ".join(_docx_text(_report(client, make_key, "docx")).split())
    withheld = re.search(r"(\d+) cán bộ có ([^:]*): không nêu B và C", text)
    assert withheld, text
    assert withheld.group(1) == "1" and "dưới 5 phiếu đánh giá" not in withheld.group(2)
    assert withheld.group(2).startswith("B hoặc C tính trên dưới 5 phiếu trả lời")


@pytest.mark.parametrize(
    ("root", "place"),
    [
        ("Ủy ban nhân dân tỉnh Đồng Nai", "Đồng Nai"),
        ("Uỷ ban nhân dân tỉnh Bắc Ninh", "Bắc Ninh"),
        ("UBND thành phố Hà Nội", "Hà Nội"),
        ("Tỉnh Lâm Đồng", "Lâm Đồng"),
        ("Thành phố Hồ Chí Minh", "Thành phố Hồ Chí Minh"),
        ("Ủy ban nhân dân Thành phố Hồ Chí Minh", "Thành phố Hồ Chí Minh"),
        ("Đặc khu Phú Quốc", "Đặc khu Phú Quốc"),  # another shape: as it is
    ],
)
def test_the_report_is_dated_at_the_province_s_name_not_its_people_s_committee(
    client: TestClient, make_key: KeyFactory, db: DbFactory, root: str, place: str
) -> None:
    """(reports audit) Decree 30/2020 puts the province's proper name before the date
    ("Đồng Nai, ngày ..."); the report wrote its root agency's name there: "Ủy ban nhân dân
    tỉnh Đồng Nai, ngày ...". The tests' root, "Thành phố Hồ Chí Minh", hid it."""
    with db() as session:
        root_agency = session.exec(select(Agency).where(Agency.code == "79")).one()
        root_agency.name = root
        session.add(root_agency)
    admin = make_key("admin")
    report = client.get(
        "/api/v1/reports/79", params={"period": PERIOD, "format": "docx"}, headers=admin
    )
    assert report.status_code == 200, report.text
    document = Document(io.BytesIO(report.content))
    texts = [p.text for t in document.tables for c in t.rows[0].cells for p in c.paragraphs]
    [dated] = [text for text in texts if ", ngày " in text]
    assert dated.startswith(f"{place}, ngày "), dated
