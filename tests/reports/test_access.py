"""Who may have the report (manager and admin, with the parent in scope), in which shapes;
the CLI; the console's "Tải báo cáo" link."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from docx import Document
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.cli_runner import cli_for
from tests.conftest import KeyFactory
from tests.console.conftest import ConsoleClient, raw_key
from tests.reports.seed import PERIOD, seed_quarter

pytestmark = pytest.mark.usefixtures("agencies")
URL = "/api/v1/reports/79"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize("role", ["issuer", "reader", "kiosk", "auditor"])
def test_only_managers_and_admins(client: TestClient, make_key: KeyFactory, role: str) -> None:
    response = client.get(URL, params={"period": PERIOD}, headers=make_key(role))
    assert response.status_code == 403
    assert client.get(URL, params={"period": PERIOD}).status_code == 401


def test_scope_covers_the_parent(client: TestClient, make_key: KeyFactory) -> None:
    # A ward's manager sees its own ward, not the city's ranking of every ward.
    ward = make_key("manager", agency="79.BTH")
    refused = client.get(URL, params={"period": PERIOD}, headers=ward)
    assert refused.status_code == 403
    assert "79" in refused.json()["detail"]
    city = make_key("manager", agency="79")
    response = client.get(URL, params={"period": PERIOD, "format": "docx"}, headers=city)
    assert response.status_code == 200
    assert response.headers["content-type"] == DOCX
    assert response.headers["cache-control"] == "private, no-store"


def test_pdf_is_the_default_format(client: TestClient, make_key: KeyFactory) -> None:
    response = client.get(URL, params={"period": "2025-08"}, headers=make_key("admin"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="bao-cao-79-2025-08.pdf"' in response.headers["content-disposition"]
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "tháng 8 năm 2025" in text


@pytest.mark.parametrize(
    ("url", "params", "status", "field"),
    [
        (URL, {"period": "2025-Q5"}, 422, "period"),
        (URL, {"period": PERIOD, "format": "xlsx"}, 422, "format"),
        ("/api/v1/reports/NOPE", {"period": PERIOD}, 404, None),
    ],
)
def test_bad_requests(
    client: TestClient,
    make_key: KeyFactory,
    url: str,
    params: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    response = client.get(url, params=params, headers=make_key("admin"))
    assert response.status_code == status, response.text
    if field:
        assert [f["field"] for f in response.json()["fields"]] == [field]


def test_cli_writes_the_report(
    client: TestClient, make_key: KeyFactory, database_url: str, tmp_path: Path
) -> None:
    seed_quarter(client, make_key)
    run = cli_for(database_url)
    out = tmp_path / "q3.docx"
    result = run(
        "report", "--parent", "79", "--period", PERIOD, "--format", "docx", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "4 agencies" in result.output
    cells = [c.text for c in Document(str(out)).tables[1].rows[3].cells]
    assert cells[1:3] == ["Phường Sài Gòn", "0,5"] and "Không hài lòng" in cells
    pdf = tmp_path / "q3.pdf"
    assert run("report", "--parent", "79", "--period", PERIOD, "--out", str(pdf)).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF-")
    bad = run("report", "--parent", "79", "--period", PERIOD, "--format", "odt", "--out", str(pdf))
    assert bad.exit_code == 2 and "docx or pdf" in bad.output
    unknown = run("report", "--parent", "NOPE", "--period", PERIOD, "--out", str(pdf))
    assert unknown.exit_code == 2 and "NOPE" in unknown.output


def test_console_button_downloads_for_the_signed_in_official(
    client: TestClient, make_key: KeyFactory
) -> None:
    console = ConsoleClient(client)
    # Signed out: to the sign-in page, no file.
    signed_out = client.get("/console/a/79/report", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/console/sign-in"
    console.sign_in(raw_key(make_key("manager", agency="79")))
    page = console.get(f"/console/a/79?period={PERIOD}")
    assert "Tải báo cáo" in page.text
    link = f"/console/a/79/report?period={PERIOD}&amp;format=docx"
    assert f'href="{link}"' in page.text
    response = console.get(link.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.headers["content-type"] == DOCX
    assert Document(io.BytesIO(response.content)).paragraphs  # it opens
    # A ward has no children to rank: its report is of the ward itself (a ward's manager
    # files one too); the city's report stays out of reach.
    ward = ConsoleClient(TestClient(client.app))
    ward.sign_in(raw_key(make_key("manager", agency="79.BTH")))
    own = f"/console/a/79.BTH/report?period={PERIOD}&amp;format=docx"
    assert f'href="{own}"' in ward.get(f"/console/a/79.BTH?period={PERIOD}").text
    report = ward.get(own.replace("&amp;", "&"))
    assert report.status_code == 200 and report.headers["content-type"] == DOCX
    text = "\n".join(p.text for p in Document(io.BytesIO(report.content)).paragraphs)
    assert "không có đơn vị trực thuộc để xếp hạng" in text
    assert ward.get("/console/a/79/report").status_code == 403


@pytest.mark.parametrize("period", ["1900", "1900-Q1", "1900-01"])
@pytest.mark.parametrize("fmt", ["pdf", "docx"])
def test_a_report_of_the_first_period_known_has_nothing_before_it(
    client: TestClient, make_key: KeyFactory, period: str, fmt: str
) -> None:
    """Comparing a 1900 period with the one before asked for 1899: a 500 (audit)."""
    response = client.get(
        "/api/v1/reports/79", params={"period": period, "format": fmt}, headers=make_key("admin")
    )
    assert response.status_code == 200, response.text
    if fmt == "docx":
        text = "\n".join(p.text for p in Document(io.BytesIO(response.content)).paragraphs)
        assert "không có số liệu trước năm 1900" in text


def _docx_lines(content: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(content)).paragraphs]


def test_a_report_of_a_period_not_begun_is_refused_and_not_offered(
    client: TestClient, make_key: KeyFactory
) -> None:
    """A document an office signs and files: for a quarter still to come it read as one
    with no data ("4 units lack data", "E is entered at the period's end"; audit)."""
    response = client.get(URL, params={"period": "2099-Q1"}, headers=make_key("admin"))
    assert response.status_code == 422
    [problem] = response.json()["fields"]
    assert problem["field"] == "period"
    assert problem["problem"].startswith("2099-Q1 has not begun yet (it starts on 2099-01-01)")
    console = ConsoleClient(client)
    console.sign_in(raw_key(make_key("manager", agency="79")))
    assert 'id="report-links"' not in console.get("/console/a/79?period=2099-Q1").text
    assert 'id="report-links"' in console.get(f"/console/a/79?period={PERIOD}").text


def test_the_comparison_counts_only_children_with_a_k_in_both_periods(
    client: TestClient, make_key: KeyFactory
) -> None:
    """ "0 units rose, 0 fell" read as "nothing changed" when nothing could be compared
    (audit: missing data is never a zero); the children without a K in one of the two
    periods are now said apart."""
    seed_quarter(client, make_key)  # 79.STP and G22.39 have no K in 2025-Q2
    response = client.get(
        URL, params={"period": PERIOD, "format": "docx"}, headers=make_key("admin")
    )
    [line] = [x for x in _docx_lines(response.content) if x.startswith("So với")]
    assert line == (
        "So với quý II năm 2025: 1 đơn vị tăng điểm, 1 đơn vị giảm điểm; 2 đơn vị chưa so "
        "sánh được (một trong hai kỳ chưa có K)."
    )
    first = client.get(
        URL, params={"period": "2025-Q2", "format": "docx"}, headers=make_key("admin")
    )
    [line] = [x for x in _docx_lines(first.content) if x.startswith("So với")]
    assert line == "So với quý I năm 2025: chưa so sánh được (không đơn vị nào có K ở cả hai kỳ)."
