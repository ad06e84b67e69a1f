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
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Cm, Pt
from docx.table import _Cell

from service.reports import layout
from service.reports.data import Report
from service.text_clean import xml_text

FONT = "Times New Roman"
LANGUAGE = "vi-VN"
# Decree 30/2020/NĐ-CP, appendix I: top and bottom 20-25 mm, left 30-35 mm (the binding
# side), right 15-20 mm. The narrowest allowed, to keep the tables' room.
TOP_CM = BOTTOM_CM = 2.0
LEFT_CM, RIGHT_CM = 3.0, 1.5
PAGE_WIDTH_CM, PAGE_HEIGHT_CM = 21.0, 29.7  # A4
TEXT_WIDTH_CM = PAGE_WIDTH_CM - LEFT_CM - RIGHT_CM
QUOC_HIEU_WIDTH_CM = 10.0  # the right-hand cell of the title block: the motto on one line


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
    left.width, right.width = Cm(TEXT_WIDTH_CM - QUOC_HIEU_WIDTH_CM), Cm(QUOC_HIEU_WIDTH_CM)
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
    # The header row is repeated at the top of every page the table runs onto, and read
    # as the column headers by a screen reader.
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
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
        shape = document.add_picture(io.BytesIO(block.png), width=Cm(TEXT_WIDTH_CM))
        shape._inline.docPr.set("descr", xml_text(block.caption))  # the alt text
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


def _page_numbers(section: Section) -> None:
    """Decree 30: the page number in Arabic figures, centred in the top margin, from the
    second page on (the first page shows none)."""
    section.different_first_page_header_footer = True
    section.first_page_header.is_linked_to_previous = False  # its own, empty header
    section.header.is_linked_to_previous = False
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(0)  # within the top margin, not below it
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    paragraph._p.append(field)
    shown = OxmlElement("w:r")  # what a reader shows before it updates the field
    text = OxmlElement("w:t")
    text.text = "2"
    shown.append(text)
    field.append(shown)


def _language(document: DocumentType) -> None:
    """Vietnamese, not the template's en-US: Word spell-checks the report in Vietnamese
    and a screen reader reads it with a Vietnamese voice."""
    styles = document.styles.element
    for lang in styles.iter(qn("w:lang")):  # the document defaults (rPrDefault)
        lang.set(qn("w:val"), LANGUAGE)
        lang.set(qn("w:eastAsia"), LANGUAGE)
    normal = document.styles["Normal"].element.get_or_add_rPr()
    lang = normal.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        normal.append(lang)  # last of its rPr: after the font and size set before
    lang.set(qn("w:val"), LANGUAGE)
    lang.set(qn("w:eastAsia"), LANGUAGE)
    document.core_properties.language = LANGUAGE


def render_docx(report: Report) -> bytes:
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(PAGE_WIDTH_CM), Cm(PAGE_HEIGHT_CM)
    section.left_margin, section.right_margin = Cm(LEFT_CM), Cm(RIGHT_CM)
    section.top_margin, section.bottom_margin = Cm(TOP_CM), Cm(BOTTOM_CM)
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(13)
    _language(document)
    _page_numbers(section)
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
