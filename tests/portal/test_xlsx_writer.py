"""The one XLSX writer of the score, response-rate, evaluation and petition exports."""

from __future__ import annotations

import io
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from openpyxl import load_workbook

from service import xlsx
from service.errors import Unauthorized
from service.xlsx import XlsxWriter


async def _read(writer: XlsxWriter) -> bytes:
    return b"".join([block async for block in await writer.stream()])


def test_rows_past_a_sheets_limit_go_on_in_a_new_sheet_with_its_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each sheet starts with the bold header; texts Excel would evaluate stay texts."""
    monkeypatch.setattr(xlsx, "SHEET_ROWS", 3)  # the header and two rows
    writer = XlsxWriter("Đánh giá", ["Mã", "Tên"])
    rows: list[list[Any]] = [[n, f"=A{n}"] for n in range(1, 5)] + [[5, "#N/A"]]
    writer.add(rows)
    book = load_workbook(io.BytesIO(anyio.run(_read, writer)))
    assert book.sheetnames == ["Đánh giá", "Đánh giá (2)", "Đánh giá (3)"]
    cells = []
    for sheet in book.worksheets:
        header, *body = list(sheet.iter_rows())
        assert [(c.value, c.font.b) for c in header] == [("Mã", True), ("Tên", True)]
        cells.extend(body)
    assert [(row[0].value, row[1].value, row[1].data_type) for row in cells] == [
        (1, "=A1", "s"),
        (2, "=A2", "s"),
        (3, "=A3", "s"),
        (4, "=A4", "s"),
        (5, "#N/A", "s"),
    ]


def test_an_export_broken_off_mid_way_leaves_no_rows_on_disk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The rows written before a chunk is refused leave the disk when the export stops, not
    when the process ends."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where openpyxl writes its rows
    on_disk: list[Path] = []

    async def chunks() -> AsyncIterator[list[list[Any]]]:
        yield [["79.BTH", 1]]
        on_disk.extend(tmp_path.iterdir())
        raise Unauthorized("revoked")

    async def export() -> None:
        writer = XlsxWriter("Điểm 2025-Q3", ["Mã", "K"])
        await writer.add_all(chunks(), first=[["79", 2]])

    with pytest.raises(Unauthorized):
        anyio.run(export)
    assert on_disk, "the export's rows were never written where this test looks"
    assert list(tmp_path.iterdir()) == []


def test_every_float_is_read_back_as_the_same_float() -> None:
    """openpyxl's 16 significant digits read 19.999999999999996 as 20 (inputs audit)."""
    values = [19.999999999999996, 17.333333333333332, 0.1, 20.0, 1e-300, 1 / 3]
    writer = XlsxWriter("Điểm", [f"c{n}" for n in range(len(values))])
    writer.add([values])
    book = load_workbook(io.BytesIO(anyio.run(_read, writer)))
    [_, row] = list(book.active.iter_rows(values_only=True))
    assert list(row) == values
