"""The report as a Word document (python-docx), in the layout of an administrative report
(Decree 30/2020/NĐ-CP): Times New Roman, the issuer and number on the left, the national
motto and the place and date on the right, then the title."""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt
from docx.table import _Cell

from service.reports import layout
from service.reports.data import Report
from service.text_clean import xml_text

FONT = "Times New Roman"
TEXT_WIDTH_CM = 17.0  # A4, 2 cm margins at the sides


def _run(paragraph: Any, text: str) -> Any:
    """A run of text; a control character stored before they were refused (python-docx
    refuses it: the report was a 500) is shown as U+FFFD."""
    return paragraph.add_run(xml_text(text))


def _cell_line(
    cell: _Cell, text: str, *, bold: bool = False, italic: bool = False, first: bool = False
) -> None:
    paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(0)
    run = _run(paragraph, text)
    run.bold, run.italic = bold, italic
    run.font.size = Pt(13)


def _title_block(document: DocumentType, report: Report) -> None:
    table = document.add_table(rows=1, cols=2)
    table.autofit = False
    left, right = table.rows[0].cells
    left.width, right.width = Cm(7), Cm(10)
    if report.owner_name:
        _cell_line(left, report.owner_name.upper(), first=True)
        _cell_line(left, report.parent_name.upper(), bold=True)
    else:
        _cell_line(left, report.parent_name.upper(), bold=True, first=True)
    _cell_line(left, "———")
    _cell_line(left, layout.NUMBER)
    _cell_line(right, layout.QUOC_HIEU, bold=True, first=True)
    _cell_line(right, layout.TIEU_NGU, bold=True)
    _cell_line(right, "———")
    _cell_line(right, layout.place_and_date(report), italic=True)
    document.add_paragraph()
    for index, line in enumerate(layout.title_lines(report)):
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_after = Pt(0 if index == 0 else 12)
        run = _run(paragraph, line)
        run.bold = True
        run.font.size = Pt(14)


def _table(document: DocumentType, block: layout.Table) -> None:
    table = document.add_table(rows=1, cols=len(block.header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    total = sum(block.widths)
    widths = [Cm(TEXT_WIDTH_CM * w / total) for w in block.widths]
    for cells, values, bold in [(table.rows[0].cells, block.header, True)] + [
        (table.add_row().cells, row, False) for row in block.rows
    ]:
        for index, (cell, value) in enumerate(zip(cells, values, strict=True)):
            cell.width = widths[index]
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            if bold:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            elif index in block.numeric:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            run = _run(paragraph, value)
            run.bold = bold
            run.font.size = Pt(10)
    document.add_paragraph()


def _block(document: DocumentType, block: layout.Block) -> None:
    if isinstance(block, layout.Heading):
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(6)
        _run(paragraph, block.text).bold = True
    elif isinstance(block, layout.Paragraph):
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        if block.bold_lead:
            _run(paragraph, block.bold_lead).bold = True
        _run(paragraph, block.text).italic = block.italic
    elif isinstance(block, layout.Bullets):
        for item in block.items:
            document.add_paragraph(xml_text(item), style="List Bullet")
    elif isinstance(block, layout.Table):
        _table(document, block)
    else:
        document.add_picture(io.BytesIO(block.png), width=Cm(TEXT_WIDTH_CM))
        caption = document.add_paragraph()
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(caption, block.caption).italic = True


def _signature(document: DocumentType) -> None:
    table = document.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    first = left.paragraphs[0]
    _run(first, "Nơi nhận:").bold = True
    for line in ("- Như trên;", "- Lưu: VT."):
        left.add_paragraph(line).runs[0].font.size = Pt(11)
    _cell_line(right, "THỦ TRƯỞNG CƠ QUAN", bold=True, first=True)
    _cell_line(right, "(Ký, ghi rõ họ tên, đóng dấu)", italic=True)


def render_docx(report: Report) -> bytes:
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2)
    section.top_margin = section.bottom_margin = Cm(2)
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(13)
    core = document.core_properties
    core.title = " ".join(layout.title_lines(report))
    core.author = xml_text(report.parent_name)  # as every run is (`_run`)
    _title_block(document, report)
    for block in layout.body(report):
        _block(document, block)
    _signature(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
