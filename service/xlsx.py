"""An XLSX of any number of rows in bounded memory, for every export that offers one.

openpyxl's write-only mode writes each row to a temporary file as it is appended and writes
texts inline (no shared-strings table growing with the rows), so memory stays flat while
rows are added; saving zips that file into a spooled temporary file (in memory up to 8 MB,
on disk beyond), which the response then streams. A sheet holds at most 1,048,576 rows
(Excel's limit): the rows go on in a new sheet rather than being cut. An export broken off
mid-way (its key revoked between chunks) removes its rows from disk at once."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import anyio
import anyio.to_thread
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Font

from service.text_clean import xml_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_ROWS = 1_048_576  # Excel's limit, the header included
SPOOL_BYTES = 8 * 1024 * 1024
BLOCK_BYTES = 64 * 1024
Rows = Sequence[Sequence[Any]]
# A chunk of rows as they are written: each text passed through `XlsxWriter.text`.
Convert = Callable[[Rows], Rows]


class XlsxWriter:
    """One export's workbook: a bold header on each sheet, then the rows as they are added."""

    def __init__(self, title: str, headers: Sequence[str]) -> None:
        self.book = Workbook(write_only=True)
        self.title = title
        self.headers = list(headers)
        self.sheets = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self.sheets += 1
        suffix = f" ({self.sheets})" if self.sheets > 1 else ""
        self.sheet = self.book.create_sheet(title=f"{self.title[: 31 - len(suffix)]}{suffix}")
        bold = Font(bold=True)
        header = []
        for title in self.headers:
            cell = WriteOnlyCell(self.sheet, value=title)
            cell.font = bold
            header.append(cell)
        self.sheet.append(header)
        self.rows_in_sheet = 1

    def text(self, value: Any) -> Any:
        """A value as it is written, a text so that Excel never evaluates it: openpyxl takes
        a text starting with "=" for a formula and one spelled as an error code ("#N/A", a
        procedure name an issuer sent) for an error cell, so those are typed as text (any
        other text is written as an inline string, which Excel never evaluates; typing only
        those keeps a million rows fast). A control character stored before they were
        refused is shown, not a 500."""
        if isinstance(value, float):
            return self._number(value)
        if not isinstance(value, str):
            return value
        value = xml_text(value)
        if value.startswith("=") or value in ERROR_CODES:
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    def _number(self, value: float) -> Any:
        """A float in its shortest exact digits. openpyxl writes numbers with 16 significant
        digits ("%.16g"): a K of 19.999999999999996, "Không hài lòng" in the API, read 20 in
        the file, the threshold it is below (inputs audit). Such a number goes in as its
        repr, typed as a number; any other, as openpyxl writes it."""
        if value != value or float(f"{value:.16g}") == value:  # NaN: openpyxl leaves it empty
            return value
        cell = WriteOnlyCell(self.sheet)
        cell.value, cell.data_type = repr(value), "n"
        return cell

    def texts(self, rows: Rows) -> Rows:
        """Every value of the rows through `text`: for rows not converted column by column."""
        text = self.text
        return [[text(value) for value in row] for row in rows]

    def add(self, rows: Rows, convert: Convert | None = None) -> None:
        """The rows, after `convert` (by default `texts`), on as many sheets as they need."""
        for row in (convert or self.texts)(rows):
            if self.rows_in_sheet == SHEET_ROWS:
                self._new_sheet()
            self.sheet.append(row)
            self.rows_in_sheet += 1

    async def add_all(
        self, chunks: AsyncIterator[Rows], convert: Convert | None = None, first: Rows = ()
    ) -> None:
        """`first` (a chunk read already, to answer a refused key before any byte), then every
        chunk's rows, each written off the event loop. An export broken off (its key revoked
        mid-way) is discarded: the rows already written leave the disk at once."""
        try:
            await anyio.to_thread.run_sync(self.add, first, convert)
            async for rows in chunks:
                await anyio.to_thread.run_sync(self.add, rows, convert)
        except BaseException:
            # Off the event loop (saving 200,000 rows took 5.6 s, every other request of
            # the process waiting: review), and shielded: a cancelled export still removes
            # its rows.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.discard)
            raise

    def discard(self) -> None:
        """Saved into a file deleted at once: left unsaved, the workbook complained when
        collected, and the rows already written stayed in openpyxl's temporary files until
        the process ended. (Saving is openpyxl's one public way to close a write-only
        workbook and remove its temporary files.)"""
        with tempfile.TemporaryFile() as discarded:
            self.book.save(discarded)

    def file(self) -> tempfile.SpooledTemporaryFile[bytes]:
        # Outlives this call: the streaming response reads, then closes it.
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.book.save(spool)
        spool.seek(0)
        return spool

    async def stream(self) -> AsyncIterator[bytes]:
        """The workbook as a response body. Saved now, before the response starts (an error
        in saving is an error response, not a broken download); read off the event loop, as
        a workbook past 8 MB is read from disk."""
        spool = await anyio.to_thread.run_sync(self.file)

        async def blocks() -> AsyncIterator[bytes]:
            try:
                while block := await anyio.to_thread.run_sync(spool.read, BLOCK_BYTES):
                    yield block
            finally:
                spool.close()

        return blocks()
