"""An XLSX of any number of rows in bounded memory.

openpyxl's write-only mode writes each row to a temporary file as it is appended and writes
texts inline (no shared-strings table growing with the rows), so memory stays flat while
rows are added; saving zips that file into a spooled temporary file (in memory up to 8 MB,
on disk beyond), which the response then streams. A sheet holds at most 1,048,576 rows
(Excel's limit): the rows go on in a new sheet rather than being cut."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Font

from service.evaluations.tables import Convert, Table
from service.text_clean import xml_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_ROWS = 1_048_576  # Excel's limit, the header included


class XlsxWriter:
    def __init__(self, title: str, columns: Sequence[tuple[str, Convert]]) -> None:
        self.book = Workbook(write_only=True)
        self.title = title
        self.sheets = 0
        self.table = Table(columns, text=self._text)
        self._new_sheet()

    def _new_sheet(self) -> None:
        self.sheets += 1
        suffix = f" ({self.sheets})" if self.sheets > 1 else ""
        self.sheet = self.book.create_sheet(title=f"{self.title[: 31 - len(suffix)]}{suffix}")
        bold = Font(bold=True)
        header = []
        for title in self.table.headers:
            cell = WriteOnlyCell(self.sheet, value=title)
            cell.font = bold
            header.append(cell)
        self.sheet.append(header)
        self.rows_in_sheet = 1

    def _text(self, value: Any) -> Any:
        """openpyxl takes a text starting with "=" for a formula and one spelled as an
        error code ("#N/A", a procedure name an issuer sent) for an error cell: those are
        typed as text. (Any other text is written as an inline string, which Excel never
        evaluates.) A control character stored before they were refused is shown, not a
        500."""
        if isinstance(value, str):
            value = xml_text(value)
        if isinstance(value, str) and (value.startswith("=") or value in ERROR_CODES):
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        for row in self.table.rows(rows):
            if self.rows_in_sheet == SHEET_ROWS:
                self._new_sheet()
            self.sheet.append(row)
            self.rows_in_sheet += 1

    def file(self) -> tempfile.SpooledTemporaryFile[bytes]:
        # Outlives this call: the streaming response reads, then closes it.
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        self.book.save(spool)
        spool.seek(0)
        return spool
