"""The report as Word, a screen reader and a filing clerk read it: the documents say they are
Vietnamese, the DOCX's tables carry their header row onto every page they span (the PDF's
do: fpdf2 repeats headings), its charts have alt text, and its page is laid out as Decree
30/2020/NĐ-CP asks of an administrative document (reports audit)."""

from __future__ import annotations

import io

import pytest
from docx import Document
from docx.document import Document as DocumentType
from docx.oxml.ns import qn
from docx.shared import Cm
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.conftest import KeyFactory
from tests.reports.seed import PERIOD, seed_quarter

pytestmark = pytest.mark.usefixtures("agencies")


def _report(client: TestClient, make_key: KeyFactory, fmt: str) -> bytes:
    seed_quarter(client, make_key)
    response = client.get(
        "/api/v1/reports/79", params={"period": PERIOD, "format": fmt}, headers=make_key("admin")
    )
    assert response.status_code == 200, response.text
    content: bytes = response.content
    return content


def _docx(client: TestClient, make_key: KeyFactory) -> DocumentType:
    return Document(io.BytesIO(_report(client, make_key, "docx")))


def test_the_docx_is_vietnamese_and_its_charts_are_described(
    client: TestClient, make_key: KeyFactory
) -> None:
    """python-docx's template says en-US: Word underlined every word as a misspelling and a
    screen reader read the report with an English voice; and the charts had no alt text."""
    document = _docx(client, make_key)
    styles = document.styles.element
    defaults = styles.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    assert defaults is not None
    normal = document.styles["Normal"].element.rPr
    assert normal is not None
    for rpr in (defaults, normal):
        lang = rpr.find(qn("w:lang"))
        assert lang is not None and lang.get(qn("w:val")) == "vi-VN"
    assert {lang.get(qn("w:val")) for lang in styles.iter(qn("w:lang"))} == {"vi-VN"}
    assert document.core_properties.language == "vi-VN"

    captions = [p.text for p in document.paragraphs if p.text.startswith("Biểu đồ")]
    descriptions = [shape._inline.docPr.get("descr") for shape in document.inline_shapes]
    assert len(captions) >= 2 and descriptions == captions


def test_the_pdf_is_vietnamese(client: TestClient, make_key: KeyFactory) -> None:
    reader = PdfReader(io.BytesIO(_report(client, make_key, "pdf")))
    assert reader.root_object.get("/Lang") == "vi"


def test_docx_tables_repeat_their_header_row(client: TestClient, make_key: KeyFactory) -> None:
    """The 168-ward ranking of a city runs over four pages: from the second on, Word showed
    columns of figures under no header."""
    document = _docx(client, make_key)
    data_tables = [
        t for t in document.tables if t.style is not None and t.style.name == "Table Grid"
    ]
    assert len(data_tables) >= 4
    for table in data_tables:
        marked = [
            tr.trPr is not None and tr.trPr.find(qn("w:tblHeader")) is not None
            for tr in (row._tr for row in table.rows)
        ]
        assert marked == [True] + [False] * (len(marked) - 1), table.rows[0].cells[0].text


def test_docx_page_follows_decree_30(client: TestClient, make_key: KeyFactory) -> None:
    """Decree 30/2020/NĐ-CP, appendix I: left margin 30-35 mm (the binding side), right
    15-20 mm, top and bottom 20-25 mm, and the page number centred in the top margin from
    page 2. The DOCX had 20 mm at both sides and no page number, so a report filed from
    Word was unnumbered and bound into its text. Its tables and charts still fit."""
    document = _docx(client, make_key)
    section = document.sections[0]
    page_width, left, right, top, bottom = (
        section.page_width,
        section.left_margin,
        section.right_margin,
        section.top_margin,
        section.bottom_margin,
    )
    assert page_width and left and right and top and bottom
    assert 3.0 <= round(left.cm, 2) <= 3.5, left.cm
    assert 1.5 <= round(right.cm, 2) <= 2.0, right.cm
    assert 2.0 <= round(top.cm, 2) <= 2.5, top.cm
    assert 2.0 <= round(bottom.cm, 2) <= 2.5, bottom.cm

    assert section.different_first_page_header_footer  # no number on the first page
    assert "PAGE" not in section.first_page_header._element.xml
    (numbered,) = section.header.paragraphs
    fields = numbered._p.findall(qn("w:fldSimple"))
    assert [f.get(qn("w:instr")).strip() for f in fields] == ["PAGE"]
    assert numbered.alignment is not None and numbered.alignment.name == "CENTER"

    text_width = page_width - left - right
    slack = Cm(0.01)  # the rounding of widths to whole EMUs
    for table in document.tables:
        width = sum(cell.width or 0 for cell in table.rows[0].cells)
        assert width <= text_width + slack, table.rows[0].cells[0].text
    shapes = list(document.inline_shapes)
    assert shapes and all(abs(shape.width - text_width) <= slack for shape in shapes)
