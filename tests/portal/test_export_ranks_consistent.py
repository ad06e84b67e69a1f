"""(reports audit) A score export is read a chunk of agencies at a time, each chunk in its
own transaction. Every chunk ranked its rows from the scores of its moment: a score moving
between two chunks (the current quarter moves with every answer) left a file whose
'Xếp hạng' column contradicted its own K column, two agencies ranked 2nd with different K
and none 3rd. A chunk now reads whole families. CHUNK is made 2 to split 79's wards."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from fractions import Fraction

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from service.admin.agencies import agencies_in_order
from service.models import Agency, PeriodInput
from service.portal import exports
from service.portal import router as scores_router
from service.scoring.siblings import competition_ranks
from tests.conftest import DbFactory, KeyFactory
from tests.reports.seed import PERIOD, seed_quarter

pytestmark = pytest.mark.usefixtures("agencies")


def _move_a_score_after_the_first_chunk(db: DbFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "CHUNK", 2)
    original = agencies_in_order
    calls = {"n": 0}

    def in_order(session: Session, ids: list[int]) -> Sequence[Agency]:
        calls["n"] += 1
        if calls["n"] == 2:  # the first chunk (79, 79.BTH) is read: Bến Thành's D arrives
            with db() as other:  # committed by another connection, as a PUT .../inputs is
                agency = other.exec(select(Agency).where(Agency.code == "79.BTH")).one()
                row = other.exec(
                    select(PeriodInput).where(
                        PeriodInput.agency_id == agency.id, PeriodInput.period == PERIOD
                    )
                ).one()
                row.d = 10.0
                other.add(row)
        return original(session, ids)

    monkeypatch.setattr(scores_router, "agencies_in_order", in_order)


def _wards(rows: list[list[object]]) -> dict[str, tuple[Fraction | None, int | None]]:
    """code -> (K, rank) of 79's children, as the file gives them."""
    return {
        str(row[0]): (
            Fraction(str(row[4])) if row[4] not in (None, "") else None,
            int(str(row[3])) if row[3] not in (None, "") else None,
        )
        for row in rows
        if row[0] != "79"
    }


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_ranks_in_one_export_agree_with_its_k_column(
    client: TestClient,
    make_key: KeyFactory,
    db: DbFactory,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
) -> None:
    seed_quarter(client, make_key)
    _move_a_score_after_the_first_chunk(db, monkeypatch)
    response = client.get(
        f"/api/v1/scores.{suffix}", params={"period": PERIOD}, headers=make_key("admin")
    )
    assert response.status_code == 200, response.text
    rows: list[list[object]]
    if suffix == "csv":
        text = response.content.decode("utf-8-sig")
        rows = [list[object](r) for r in csv.reader(io.StringIO(text))][1:]
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert sheet is not None
        rows = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    wards = _wards(rows)
    assert len(wards) >= 3  # split by the chunks: 79.BTH in the first, its siblings later
    codes = list(wards)
    expected = competition_ranks({n: wards[code][0] for n, code in enumerate(codes)})
    assert [wards[code][1] for code in codes] == [expected[n] for n in range(len(codes))], wards
