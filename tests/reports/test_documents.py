"""The report of a seeded quarter, read back as an office would: the DOCX opened with
python-docx, the PDF's text extracted with pypdf. Its figures must be the API's."""

from __future__ import annotations

import dataclasses
import io
import re
from typing import Any

import pytest
from docx import Document
from docx.document import Document as DocumentType
from docx.shared import Cm
from fastapi.testclient import TestClient
from PIL import ImageDraw
from pypdf import PdfReader
from sqlmodel import select

from service.admin.agencies import upsert_agency
from service.calendar.working_days import local_date
from service.models import Agency, utcnow
from service.numbers import number
from service.periods import parse_period
from service.profile import load_profile
from service.reports import layout
from service.reports.service import gather_for
from service.reports.words import date_words
from tests.conftest import Backend, DbFactory, KeyFactory
from tests.reports.seed import PERIOD, _dossier, _inputs, seed_quarter

pytestmark = pytest.mark.usefixtures("agencies")
GROUPS = {
    "hai_long": "Hài lòng",
    "khong_hai_long": "Không hài lòng",
    "chua_du_du_lieu": "Chưa đủ dữ liệu",
}
TITLE_BLOCK = (
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "THÀNH PHỐ HỒ CHÍ MINH",
    "Số: ……/BC-……",
    "BÁO CÁO",
    "giải quyết thủ tục hành chính quý III năm 2025",
)


@pytest.fixture
def rankings(client: TestClient, make_key: KeyFactory) -> list[dict[str, Any]]:
    seed_quarter(client, make_key)
    response = client.get(
        "/api/v1/rankings",
        params={"period": PERIOD, "parent_code": "79"},
        headers=make_key("admin"),
    )
    data: list[dict[str, Any]] = response.json()["data"]
    # The seed is what the assertions below expect: one of each group.
    assert [(s["agency_code"], s["group"]) for s in data] == [
        ("G22.39", "hai_long"),
        ("79.BTH", "hai_long"),
        ("79.SGN", "khong_hai_long"),
        ("79.STP", "chua_du_du_lieu"),
    ]
    return data


def _download(client: TestClient, make_key: KeyFactory, fmt: str) -> bytes:
    response = client.get(
        "/api/v1/reports/79", params={"period": PERIOD, "format": fmt}, headers=make_key("admin")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        f'attachment; filename="bao-cao-79-{PERIOD}.{fmt}"'
    )
    content: bytes = response.content
    return content


def _expected_row(score: dict[str, Any]) -> list[str]:
    """A ranking row as the report prints it, from the API's figures."""
    return [
        str(score["rank"]) if score["rank"] else "—",
        score["agency_name"],
        *(number(score[part], "vi") for part in "abcd"),
        number(score["e"], "vi", 0),
        number(score["k"], "vi"),
        GROUPS[score["group"]],
    ]


def _section(lines: list[str], start: str, end: str) -> str:
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    last = next(i for i, line in enumerate(lines) if line.startswith(end))
    return "\n".join(lines[first:last])


def _docx_lines(document: DocumentType) -> list[str]:
    lines = [p.text for p in document.paragraphs]
    for cell in document.tables[0].rows[0].cells:  # the title block is a borderless table
        lines += [p.text for p in cell.paragraphs]
    return lines


def _table(document: DocumentType, first_header: str, second: str) -> list[list[str]]:
    for table in document.tables:
        rows = [[cell.text for cell in row.cells] for row in table.rows]
        if rows and rows[0][:2] == [first_header, second]:
            return rows
    raise AssertionError(f"no table headed {first_header}, {second}")


def test_docx_title_ranking_and_reasons(
    client: TestClient, make_key: KeyFactory, rankings: list[dict[str, Any]]
) -> None:
    document = Document(io.BytesIO(_download(client, make_key, "docx")))
    lines = _docx_lines(document)
    text = "\n".join(lines)
    for expected in TITLE_BLOCK:
        assert expected in text, expected
    today = date_words(local_date(utcnow()))
    assert f"Thành phố Hồ Chí Minh, {today}" in lines
    assert re.fullmatch(r"ngày \d\d tháng (0[12]|[3-9]|1[012]) năm \d{4}", today)

    ranking = _table(document, "Hạng", "Đơn vị")
    assert [row[:9] for row in ranking[1:]] == [_expected_row(s) for s in rankings]
    # Against 2025-Q2 (Sài Gòn 22, first; Bến Thành 20, second).
    changes = {row[1]: row[9:] for row in ranking[1:]}
    assert changes["Phường Sài Gòn"] == ["-3", "giảm 2"]
    assert changes["Phường Bến Thành"] == ["+1,5", "giữ nguyên"]
    assert changes["Sở Tư pháp"] == ["—", "—"]

    reasons = _section(lines, "III.", "IV.")
    assert "Phường Sài Gòn: K = 19, dưới ngưỡng 20 điểm." in reasons
    assert "3 trong 6 hồ sơ bị trễ hơn 5 ngày làm việc (không được điểm)." in reasons
    assert "3 trong 6 phiếu đánh giá thái độ cán bộ là tốt." in reasons
    assert "Sở Tư pháp: Chưa đủ dữ liệu để tính K: còn thiếu B, C, E" in reasons
    assert "Bến Thành" not in reasons and "Tân Định" not in reasons

    overdue = _table(document, "Đơn vị", "Mã phản ánh")
    assert {row[1]: row[5] for row in overdue[1:]} == {
        "PA-STP-OPEN": "chưa xử lý",
        "PA-STP-LATE": "15/08/2025",
    }
    staff = _table(document, "Đơn vị", "Mã cán bộ")
    named = {row[1]: row for row in staff[1:]}
    # Sài Gòn's returning officer: 6 evaluations, half rating the attitude good.
    assert named["CB013"][3:] == ["6", "—", "1", "0,5"]
    # Tân Định's has 3 evaluations: B and C withheld, and A is 1, so not named at all.
    assert all(row[0] != "UBND Phường Tân Định" for row in staff[1:])
    sources = {row[0]: row for row in _table(document, "Đơn vị", "D")[1:]}
    assert sources["Phường Bến Thành"][2].startswith("Nhập từ hệ thống phản ánh, kiến nghị")
    assert sources["Sở Tư pháp"][2].startswith("Tính trong hệ thống")
    assert len(document.inline_shapes) == 2  # the ranking bars and the trend


def test_pdf_text_keeps_figures_and_vietnamese(
    client: TestClient, make_key: KeyFactory, rankings: list[dict[str, Any]]
) -> None:
    content = _download(client, make_key, "pdf")
    assert content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    for expected in TITLE_BLOCK:
        assert expected in text, expected
    assert f"Thành phố Hồ Chí Minh, {date_words(local_date(utcnow()))}" in text
    ranking = _section(lines, "I. KẾT QUẢ XẾP HẠNG", "± K và ± Hạng")
    for score in rankings:
        row = next(line for line in ranking.splitlines() if score["agency_name"] in line)
        # One table row reads left to right: rank, name, A..E, K, group.
        assert row.startswith(f"{_expected_row(score)[0]} {score['agency_name']}"), row
        assert " ".join(_expected_row(score)[2:]) in row, row
    reasons = _section(lines, "III.", "IV.")
    assert "Phường Sài Gòn: K = 19, dưới ngưỡng 20 điểm." in reasons
    assert "Bến Thành" not in reasons
    assert "PA-STP-OPEN" in text and "CB013" in text
    assert reader.metadata is not None and reader.metadata.title is not None
    assert reader.metadata.title.startswith("BÁO CÁO Kết quả đánh giá mức độ hài lòng")


def test_pdf_prints_an_agency_name_as_it_is_even_with_markdown_marks(
    client: TestClient, make_key: KeyFactory, rankings: list[dict[str, Any]], db: DbFactory
) -> None:
    odd = "Phường **Sài** Gòn -- mới"
    with db() as session:
        agency = session.exec(select(Agency).where(Agency.code == "79.SGN")).one()
        agency.name = odd
        session.add(agency)
    reader = PdfReader(io.BytesIO(_download(client, make_key, "pdf")))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert f"{odd}: K = 19, dưới ngưỡng 20 điểm." in text


@pytest.mark.heavy
def test_overdue_petitions_are_listed_behind_more_on_time_ones_than_the_limit(
    client: TestClient, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list took each agency's first PETITIONS_PER_AGENCY petitions, late or not, and kept
    the late ones: a department with 200 on-time petitions before its two late ones read
    "no overdue petitions" while its score counted both (audit)."""
    seed_quarter(client, make_key)
    admin = make_key("admin")
    for n in range(3):  # received before the seed's two late ones, handled the next day
        petition = {
            "petition_code": f"PA-STP-OK{n}",
            "agency_code": "79.STP",
            "received_at": "2025-07-01T08:00:00+07:00",
            "handled_at": "2025-07-02T08:00:00+07:00",
        }
        assert client.post("/api/v1/petitions", json=petition, headers=admin).status_code == 201
    monkeypatch.setattr("service.reports.data.PETITIONS_PER_AGENCY", 2)
    document = Document(io.BytesIO(_download(client, make_key, "docx")))
    overdue = _table(document, "Đơn vị", "Mã phản ánh")
    assert sorted(row[1] for row in overdue[1:]) == ["PA-STP-LATE", "PA-STP-OPEN"]
    assert not any("không liệt kê" in line for line in _docx_lines(document))

    monkeypatch.setattr("service.reports.data.PETITIONS_PER_AGENCY", 1)
    document = Document(io.BytesIO(_download(client, make_key, "docx")))
    assert len(_table(document, "Đơn vị", "Mã phản ánh")) == 2  # the header and one
    # The one not listed is a late one: the on-time ones are not counted as "more".
    assert "Còn 1 phản ánh, kiến nghị quá hạn khác không liệt kê." in _docx_lines(document)


def test_k_at_the_threshold_a_change_under_a_hundredth_and_children_without_data(
    client: TestClient, make_key: KeyFactory
) -> None:
    """Audit of the report against its own tables: K = 20 listed "Hài lòng" beside a rule
    that said only "above 20" is; K 20,004 then 20 printed as "-0" and counted as a fall;
    and the trend row left children with no data at all out of its three groups."""
    issuer, admin = make_key("issuer"), make_key("admin")
    _dossier(client, issuer, admin, "B-Q2", "79.BTH", day="2025-05-12")
    _dossier(client, issuer, admin, "B-Q3", "79.BTH", day="2025-08-05")
    _inputs(client, admin, "79.BTH", "2025-Q2", 16.004, 1)  # K 20,004 (shown 20)
    _inputs(client, admin, "79.BTH", PERIOD, 16, 1)  # K 20 exactly: satisfied (profile)
    children = client.get(
        "/api/v1/rankings", params={"period": PERIOD, "parent_code": "79"}, headers=admin
    ).json()["data"]
    document = Document(io.BytesIO(_download(client, make_key, "docx")))
    ranking = _table(document, "Hạng", "Đơn vị")
    row = next(r for r in ranking if r[1] == "Phường Bến Thành")
    assert (row[7], row[8], row[9]) == ("20", "Hài lòng", "0")
    rule = next(p.text for p in document.paragraphs if "được xếp loại hài lòng" in p.text)
    assert "K từ 20 điểm trở lên được xếp loại hài lòng" in rule
    trend = _table(document, "Kỳ", "Hài lòng")
    quarter = next(r for r in trend if r[0] == "Quý III năm 2025")
    no_data = sum(s["group"] == "chua_du_du_lieu" for s in children)
    assert quarter[1:4] == ["1", "0", str(no_data)] and no_data == len(children) - 1


def _pdf_picture_widths(reader: PdfReader) -> list[tuple[int, float]]:
    """(page number, width in pt) of each picture, as fpdf2 places it ("w 0 0 h x y cm")."""
    placed = re.compile(rb"([\d.]+) 0 0 [\d.]+ [\d.]+ [\d.]+ cm\s*/I\w* Do")
    widths = []
    for page_number, page in enumerate(reader.pages, 1):
        contents = page.get_contents()
        assert contents is not None
        widths += [(page_number, float(m[1])) for m in placed.finditer(contents.get_data())]
    return widths


@pytest.mark.heavy
def test_the_ranking_of_many_wards_is_charted_a_page_at_a_time(
    client: TestClient, make_key: KeyFactory, db: DbFactory, backend: Backend
) -> None:
    """HCMC ranks 168 wards under one parent: the one chart grew 17 pt a child, a picture
    103 cm tall that Word cut off below its 25.7 cm page and the PDF shrank onto one page,
    its names about 2 pt high (reports audit). 72 wards make three charts of 24."""
    if backend.name != "sqlite":
        pytest.skip("the layout is the same whatever the database: drawn once")
    with db() as session:
        for n in range(68):  # with the fixture's four
            upsert_agency(session, f"79.P{n:03d}", f"Phường {n:03d}", "79", actor="test")
    document = Document(io.BytesIO(_download(client, make_key, "docx")))
    captions = [p.text for p in document.paragraphs if p.text.startswith("Biểu đồ 1")]
    what = "Điểm K của các đơn vị, quý III năm 2025"
    assert captions == [f"Biểu đồ 1. {what}"] + [f"Biểu đồ 1 (tiếp). {what}"] * 2
    section = document.sections[0]
    sizes = (section.page_width, section.page_height, section.left_margin, section.right_margin)
    page_w, page_h, left, right = (size or 0 for size in sizes)
    top, bottom = section.top_margin or 0, section.bottom_margin or 0
    docx_width, docx_height = page_w - left - right, page_h - top - bottom
    for shape in list(document.inline_shapes)[: len(captions)]:
        assert abs(shape.width - docx_width) < Cm(0.01)  # margins are in twips, widths in EMU
        assert shape.height < docx_height - Cm(1), f"{shape.height / Cm(1):.1f} cm"  # + caption

    reader = PdfReader(io.BytesIO(_download(client, make_key, "pdf")))
    charts = _pdf_picture_widths(reader)[: len(captions)]
    text_width = (210 - 2 * 20) / 25.4 * 72
    assert [round(width) for _, width in charts] == [round(text_width)] * 3  # none shrunk
    assert len({page for page, _ in charts}) == 3


def test_a_k_a_hair_under_20_reads_19_99_in_the_tables_the_words_and_the_charts(
    client: TestClient, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """K = 3 + 15.99999999999996 + 1 (a D the API accepts) is below 20, but the report printed
    the API's float, which service/numbers.py cleans of binary noise to 20: "20" and "Không
    hài lòng" in the ranking, "K = 20, không vượt ngưỡng 20" in the reasons, a change of "0"
    from a K of 20, and "20" on both charts. The report prints the exact fractions the group
    was decided on, cut to two places, as the public pages do (audit)."""
    drawn: list[str] = []
    draw_text = ImageDraw.ImageDraw.text

    def recording(self: ImageDraw.ImageDraw, xy: Any, text: Any, *args: Any, **kw: Any) -> None:
        drawn.append(str(text))
        draw_text(self, xy, text, *args, **kw)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", recording)
    issuer, admin = make_key("issuer"), make_key("admin")
    _dossier(client, issuer, admin, "B-Q2", "79.BTH", day="2025-05-12")
    _dossier(client, issuer, admin, "B-Q3", "79.BTH", day="2025-08-05")
    _inputs(client, admin, "79.BTH", "2025-Q2", 16, 1)  # K 20
    _inputs(client, admin, "79.BTH", PERIOD, 15.99999999999996, 1)
    document = Document(io.BytesIO(_download(client, make_key, "docx")))
    row = next(r for r in _table(document, "Hạng", "Đơn vị") if r[1] == "Phường Bến Thành")
    assert (row[5], row[7], row[8], row[9]) == ("15,99", "19,99", "Không hài lòng", "-0,01")
    reasons = _section(_docx_lines(document), "III.", "IV.")
    assert "Phường Bến Thành: K = 19,99, dưới ngưỡng 20 điểm." in reasons
    assert "D = 15,99" in reasons and "D = 16" not in reasons
    quarter = next(r for r in _table(document, "Kỳ", "Hài lòng") if r[0] == "Quý III năm 2025")
    assert quarter[4] == "19,99"  # the mean K of the one child with a K
    sources = {r[0]: r for r in _table(document, "Đơn vị", "D")[1:]}
    assert sources["Phường Bến Thành"][1] == "15,99"
    # The ranking bar's label and the trend's mean K: "20" only as the axis and threshold.
    assert drawn.count("19,99") == 2, drawn


def _report_of(client: TestClient, code: str, headers: dict[str, str], fmt: str) -> bytes:
    response = client.get(
        f"/api/v1/reports/{code}", params={"period": PERIOD, "format": fmt}, headers=headers
    )
    assert response.status_code == 200, response.text
    content: bytes = response.content
    return content


def test_a_ward_with_no_children_reports_its_own_result_not_all_units_satisfied(
    client: TestClient, make_key: KeyFactory, rankings: list[dict[str, Any]]
) -> None:
    """A ward's manager can ask only for the ward's own report, and a ward has no children:
    the report ranked "0 đơn vị" and said "Tất cả các đơn vị đều được xếp loại hài lòng." of
    a ward that is not satisfied. It now says there is nothing under the ward to rank and
    gives the ward's own result, as its manager files it (audit)."""
    ward = make_key("manager", agency="79.SGN")
    sgn = next(s for s in rankings if s["agency_code"] == "79.SGN")
    pdf = PdfReader(io.BytesIO(_report_of(client, "79.SGN", ward, "pdf")))
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert "Tất cả các đơn vị đều được xếp loại hài lòng" not in text
    assert "0 đơn vị" not in text

    document = Document(io.BytesIO(_report_of(client, "79.SGN", ward, "docx")))
    lines = _docx_lines(document)
    words = "\n".join(lines)
    assert "Tất cả các đơn vị" not in words
    assert (
        "Phường Sài Gòn không có đơn vị trực thuộc để xếp hạng; báo cáo nêu kết quả của chính "
        "Phường Sài Gòn: xếp loại không hài lòng, xếp hạng 3 trong các đơn vị trực thuộc "
        "Thành phố Hồ Chí Minh."
    ) in words
    assert [row[:9] for row in _table(document, "Hạng", "Đơn vị")[1:]] == [_expected_row(sgn)]
    assert "So với quý II năm 2025: K của Phường Sài Gòn giảm 3 điểm." in lines
    trend = _table(document, "Kỳ", "K")
    assert trend[0] == ["Kỳ", "K", "Xếp loại"]
    assert ["Quý III năm 2025", "19", "Không hài lòng"] in trend
    reasons = _section(lines, "III.", "IV.")
    assert "Phường Sài Gòn: K = 19, dưới ngưỡng 20 điểm." in reasons
    assert "CB013" in {row[1] for row in _table(document, "Đơn vị", "Mã cán bộ")[1:]}
    assert [row[0] for row in _table(document, "Đơn vị", "D")[1:]] == ["Phường Sài Gòn"]

    # A satisfied ward says so of itself, and nothing of "all units".
    satisfied = Document(io.BytesIO(_report_of(client, "79.BTH", make_key("admin"), "docx")))
    reasons = _section(_docx_lines(satisfied), "III.", "IV.")
    assert "Phường Bến Thành được xếp loại hài lòng." in reasons
    assert "Tất cả các đơn vị" not in reasons


def test_large_counts_in_the_report_have_a_thousands_separator(db: DbFactory) -> None:
    """The report wrote counts with str(): an agency with 12 345 resolved dossiers read
    "12345" in the sources table (and the staff table's "Số phiếu", the trend's groups, the
    overdue count), where every page writes "12.345" (service/portal/picker.count; audit)."""
    with db() as session:
        report = gather_for(session, "79", parse_period(PERIOD), load_profile("hcmc-104-2024"))
    big = dataclasses.replace(report.sources[0], resolved=12345, evaluations=4321, petitions=1002)
    report = dataclasses.replace(report, sources=[big, *report.sources[1:]], overdue_more=1500)
    blocks = layout.body(report)
    [table] = [b for b in blocks if isinstance(b, layout.Table) and b.name == "sources"]
    assert table.rows[0][5:8] == ["12.345", "4.321", "1.002"]
    assert any(
        isinstance(b, layout.Paragraph) and b.text.startswith("Còn 1.500 phản ánh") for b in blocks
    )


def _petition(
    client: TestClient, admin: dict[str, str], code: str, deadline: str, handled: str | None
) -> None:
    petition = {
        "petition_code": code,
        "agency_code": "79.STP",
        "received_at": "2025-07-01T09:00:00+07:00",
        "deadline_at": deadline,
        "handled_at": handled,
    }
    response = client.post("/api/v1/petitions", json=petition, headers=admin)
    assert response.status_code == 201, response.text


def test_a_petition_late_by_hours_reads_under_one_day_not_0_days(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """A petition handled a few hours after its deadline on the same day, or on the weekend
    after a Friday deadline, is late to the score (handled after the deadline instant) but
    no working day late: the overdue table listed it with "0 ngày" (audit)."""
    admin = make_key("admin")
    # Tuesday 22 July 2025, 17:00: handled at 19:00; Friday 25 July: handled on Saturday.
    _petition(client, admin, "PA-HOURS", "2025-07-22T17:00:00+07:00", "2025-07-22T19:00:00+07:00")
    _petition(client, admin, "PA-WEEKEND", "2025-07-25T17:00:00+07:00", "2025-07-26T09:00:00+07:00")
    _petition(client, admin, "PA-MONDAY", "2025-07-25T17:00:00+07:00", "2025-07-28T09:00:00+07:00")
    with db() as session:
        report = gather_for(session, "79", parse_period(PERIOD), load_profile("hcmc-104-2024"))
    blocks = layout.body(report)
    [table] = [b for b in blocks if isinstance(b, layout.Table) and b.name == "overdue"]
    late = {row[1]: row[6] for row in table.rows}
    assert late == {"PA-HOURS": "dưới 1 ngày", "PA-WEEKEND": "dưới 1 ngày", "PA-MONDAY": "1 ngày"}
    notes = [b.text for b in blocks if isinstance(b, layout.Paragraph) and b.italic]
    assert any("“dưới 1 ngày”" in note and "vẫn tính là trễ hạn" in note for note in notes)


def test_the_overdue_list_follows_the_profiles_rule_for_open_petitions_past_deadline(
    client: TestClient, make_key: KeyFactory, db: DbFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a profile with `open_after_deadline = "excluded"` an open petition past its
    deadline is out of the score until it is handled (contributions.petition_scored), yet
    the report listed it among the overdue ones the score counts (audit)."""
    seed_quarter(client, make_key)  # 79.STP: PA-STP-LATE handled late, PA-STP-OPEN open
    admin = make_key("admin")
    _petition(
        client, admin, "PA-STP-LATE2", "2025-07-23T17:00:00+07:00", "2025-08-20T09:00:00+07:00"
    )
    _petition(client, admin, "PA-STP-OPEN2", "2025-07-23T17:00:00+07:00", None)
    default = load_profile("hcmc-104-2024")
    excluded = default.model_copy(
        update={
            "petitions": default.petitions.model_copy(update={"open_after_deadline": "excluded"})
        }
    )
    with db() as session:
        listed = gather_for(session, "79", parse_period(PERIOD), excluded)
        counted = gather_for(session, "79", parse_period(PERIOD), default)
    assert sorted(p.petition_code for p in listed.overdue) == ["PA-STP-LATE", "PA-STP-LATE2"]
    assert listed.overdue_more == 0
    assert len(counted.overdue) == 4  # under "late" the open ones count, and are listed
    # Beyond the limit, "more" counts only what the score counts too.
    monkeypatch.setattr("service.reports.data.PETITIONS_PER_AGENCY", 1)
    with db() as session:
        listed = gather_for(session, "79", parse_period(PERIOD), excluded)
        counted = gather_for(session, "79", parse_period(PERIOD), default)
    assert [p.petition_code for p in listed.overdue] == ["PA-STP-LATE"]
    assert listed.overdue_more == 1
    assert (len(counted.overdue), counted.overdue_more) == (1, 3)
