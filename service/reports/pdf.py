"""The report as PDF (fpdf2), with the vendored Noto Sans embedded (only the glyphs used), so
the Vietnamese reads the same on any machine. Same blocks as the DOCX (layout.py)."""

from __future__ import annotations

import io

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import FontFace
from PIL import Image

from service.reports import layout
from service.reports.charts import FONTS
from service.reports.data import Report

FAMILY = "NotoSans"
MARGIN = 20.0  # mm
GREY = (90, 90, 90)


class _Document(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"Trang {self.page_no()}/{{nb}}", align=Align.C)
        self.set_text_color(0, 0, 0)


def _new() -> _Document:
    pdf = _Document(orientation="P", unit="mm", format="A4")
    pdf.add_font(FAMILY, "", str(FONTS / "NotoSans-Regular.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "NotoSans-Bold.ttf"))
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.alias_nb_pages()
    pdf.add_page()
    return pdf


def _centred(
    pdf: FPDF, x: float, width: float, text: str, style: str = "", size: float = 11
) -> None:
    pdf.set_x(x)
    pdf.set_font(FAMILY, style, size)
    pdf.multi_cell(width, 5.5, text, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)


def _rule(pdf: FPDF, x: float, width: float, length: float) -> None:
    middle = x + width / 2
    pdf.line(middle - length / 2, pdf.get_y() + 0.5, middle + length / 2, pdf.get_y() + 0.5)
    pdf.ln(2.5)


def _title_block(pdf: FPDF, report: Report) -> None:
    left_w, right_w = 68.0, pdf.epw - 68.0
    top = pdf.get_y()
    if report.owner_name:
        _centred(pdf, MARGIN, left_w, report.owner_name.upper(), size=10.5)
    _centred(pdf, MARGIN, left_w, report.parent_name.upper(), "B", 10.5)
    _rule(pdf, MARGIN, left_w, 25)
    _centred(pdf, MARGIN, left_w, layout.NUMBER, size=10.5)
    left_end = pdf.get_y()
    pdf.set_y(top)
    right_x = MARGIN + left_w
    _centred(pdf, right_x, right_w, layout.QUOC_HIEU, "B", 10.5)
    _centred(pdf, right_x, right_w, layout.TIEU_NGU, "B", 11)
    _rule(pdf, right_x, right_w, 52)
    pdf.set_text_color(*GREY)
    _centred(pdf, right_x, right_w, layout.place_and_date(report), size=10.5)
    pdf.set_text_color(0, 0, 0)
    pdf.set_y(max(left_end, pdf.get_y()) + 8)
    heading, title = layout.title_lines(report)
    _centred(pdf, MARGIN, pdf.epw, heading, "B", 14)
    _centred(pdf, MARGIN, pdf.epw, title, "B", 12)
    pdf.ln(4)


def _table(pdf: FPDF, block: layout.Table) -> None:
    total = sum(block.widths)
    aligns = tuple(
        Align.R if index in block.numeric else Align.L for index in range(len(block.header))
    )
    pdf.set_font(FAMILY, size=8)
    with pdf.table(
        col_widths=tuple(w * pdf.epw / total for w in block.widths),
        text_align=aligns,
        line_height=4.2,
        padding=1,
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 237, 240)),
        first_row_as_headings=True,
    ) as table:
        header = table.row()
        for text in block.header:
            header.cell(text, align=Align.C)
        for values in block.rows:
            row = table.row()
            for value in values:
                row.cell(value)
    pdf.ln(3)


def _picture(pdf: FPDF, block: layout.Picture) -> None:
    with Image.open(io.BytesIO(block.png)) as image:
        ratio = image.height / image.width
    width = pdf.epw
    # A chart never runs over a page: a tall one is shrunk to fit. Only a guard: layout.py
    # splits the ranking into charts that fit at full width (shrunk, its names were ~2 pt).
    room = pdf.eph - 12
    if width * ratio > room:
        width = room / ratio
    if pdf.get_y() + width * ratio + 8 > pdf.page_break_trigger:
        pdf.add_page()
    pdf.image(io.BytesIO(block.png), x=MARGIN + (pdf.epw - width) / 2, w=width)
    pdf.set_font(FAMILY, size=9)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(0, 5, block.caption, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)


def _block(pdf: FPDF, block: layout.Block) -> None:
    if isinstance(block, layout.Heading):
        if pdf.get_y() > pdf.page_break_trigger - 30:  # no heading alone at a page's foot
            pdf.add_page()
        pdf.ln(2)
        pdf.set_font(FAMILY, "B", 11)
        pdf.multi_cell(0, 6, block.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
    elif isinstance(block, layout.Paragraph):
        size = 9.5 if block.italic else 10
        pdf.set_font(FAMILY, size=size)
        if block.italic:
            pdf.set_text_color(*GREY)
        if block.bold_lead:
            # Written in two fonts rather than with fpdf2's markdown, which would also
            # restyle a `**` or `--` inside an agency's name.
            pdf.set_font(FAMILY, "B", size)
            pdf.write(5, block.bold_lead)
            pdf.set_font(FAMILY, size=size)
            pdf.write(5, block.text)
            pdf.ln(5)
        else:
            pdf.multi_cell(0, 5, block.text, align=Align.J, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1.5)
    elif isinstance(block, layout.Bullets):
        pdf.set_font(FAMILY, size=9.5)
        for item in block.items:
            pdf.set_x(MARGIN + 4)
            pdf.multi_cell(pdf.epw - 4, 4.8, f"•  {item}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.5)
    elif isinstance(block, layout.Table):
        _table(pdf, block)
    else:
        _picture(pdf, block)


def _signature(pdf: FPDF) -> None:
    if pdf.get_y() > pdf.page_break_trigger - 30:
        pdf.add_page()
    pdf.ln(4)
    top = pdf.get_y()
    pdf.set_font(FAMILY, "B", 10)
    pdf.cell(0, 5, "Nơi nhận:", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, size=9)
    for line in ("- Như trên;", "- Lưu: VT."):
        pdf.cell(0, 4.5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(top)
    half = pdf.epw / 2
    _centred(pdf, MARGIN + half, half, "THỦ TRƯỞNG CƠ QUAN", "B", 10.5)
    pdf.set_text_color(*GREY)
    _centred(pdf, MARGIN + half, half, "(Ký, ghi rõ họ tên, đóng dấu)", size=9.5)
    pdf.set_text_color(0, 0, 0)


def render_pdf(report: Report) -> bytes:
    pdf = _new()
    title = " ".join(layout.title_lines(report))
    pdf.set_title(title)
    pdf.set_lang("vi")  # /Lang: a screen reader reads the report with a Vietnamese voice
    pdf.set_author(report.parent_name)
    pdf.set_creator("hailong")
    _title_block(pdf, report)
    for block in layout.body(report):
        _block(pdf, block)
    _signature(pdf)
    return bytes(pdf.output())
