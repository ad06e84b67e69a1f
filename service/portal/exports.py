"""Score exports for the people who live in Excel: CSV (UTF-8 with BOM) and XLSX.

Both are produced in chunks of agencies, so ten thousand agencies never sit in memory at
once: CSV rows stream as they are computed, and the XLSX is written by service/xlsx.py's
`XlsxWriter` (as the evaluation exports write theirs) and streamed once it is whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from service.calendar.working_days import LOCAL_TZ
from service.console.format import actor_name
from service.csv_cells import csv_cell
from service.models import Agency
from service.numbers import number
from service.profile import Profile, Tt01Profile
from service.scoring.schemas import InputEntry, Score
from service.scoring.tt01_schemas import Tt01Score
from service.unit_of_work import UnitOfWork

CHUNK = 500
Rows = list[list[Any]]
GROUP_NAMES = {
    "hai_long": "Hài lòng",
    "khong_hai_long": "Không hài lòng",
    "chua_du_du_lieu": "Chưa đủ dữ liệu",
}
D_SOURCES = {"imported": "Nhập từ hệ thống PAKN", "group5": "Tính từ nhóm 5 (766)", None: ""}


def headers(profile: Profile) -> list[str]:
    """The K export's columns, with K's and group 5's ranges as the profile sets them."""
    k_max = profile.k_score.k_max()
    return [
        "Mã cơ quan",
        "Tên cơ quan",
        "Kỳ",
        "Xếp hạng",
        f"K (0-{number(k_max, 'vi')})",
        "Nhóm",
        "K tối thiểu",
        "K tối đa",
        "Phần thiếu dữ liệu",
        "A - Đúng hẹn",
        "B - Bổ sung hồ sơ",
        "C - Thái độ cán bộ",
        "D - Phản ánh kiến nghị",
        "Nguồn D",
        "D nhập bởi",
        "D nhập lúc",
        "E - Công khai TTHC",
        "E nhập bởi",
        "E nhập lúc",
        f"Điểm nhóm 5 (0-{number(profile.group5.maximum(), 'vi')})",
        "Tỷ lệ PAKN đúng hạn",
        "Tỷ lệ PAKN hài lòng",
        "Tỷ lệ hồ sơ hài lòng",
        "Số hồ sơ đã giải quyết",
        "Số đánh giá",
        "Số PAKN",
    ]


def row_of(score: Score) -> list[Any]:
    g5 = score.group5
    return [
        score.agency_code,
        score.agency_name,
        score.period,
        score.rank,
        score.k,
        GROUP_NAMES[score.group],
        score.k_min,
        score.k_max,
        ", ".join(m.upper() for m in score.missing),
        score.a,
        score.b,
        score.c,
        score.d,
        D_SOURCES[score.d_source],
        *_entered(score.inputs.d),
        score.e,
        *_entered(score.inputs.e),
        g5.score,
        g5.petitions_on_time_rate,
        g5.petitions_satisfied_rate,
        g5.dossiers_satisfied_rate,
        score.counts.resolved_dossiers,
        score.counts.evaluations,
        score.counts.petitions,
    ]


def _entered(entry: InputEntry | None) -> tuple[str, str]:
    """Who entered D or E by hand, and when (local time, as the evaluation exports write
    it): DESIGN's "every score says where D and E came from, who entered them and when",
    which the JSON and the report said and the export did not (exports audit)."""
    if entry is None:
        return "", ""
    return actor_name(entry.set_by), entry.set_at.astimezone(LOCAL_TZ).isoformat()


def tt01_headers(rules: Tt01Profile) -> list[str]:
    """The TT 01/2018 export's columns: its nine indicators named as the profile names them."""
    total = rules.total_max()
    return [
        "Mã cơ quan",
        "Tên cơ quan",
        "Kỳ",
        "Xếp hạng",
        f"Tổng điểm (0-{total})",
        "Xếp loại",
        "Tổng tối thiểu",
        "Tổng tối đa",
        "Chỉ số thiếu dữ liệu",
        *(f"{n}. {i.vi}" for n, i in enumerate(rules.indicators, start=1)),
        # Who entered the entered indicators, when, and whose period they are (a month's
        # are its quarter's): the JSON said so, the export did not (reports audit).
        "Chỉ tiêu nhập bởi",
        "Chỉ tiêu nhập lúc",
        "Chỉ tiêu nhập của kỳ",
        "Số hồ sơ đã giải quyết",
        "Số đánh giá",
        "Số PAKN",
    ]


def tt01_row_of(score: Tt01Score, rules: Tt01Profile) -> list[Any]:
    classes = {c.key: c.vi for c in rules.classes}
    return [
        score.agency_code,
        score.agency_name,
        score.period,
        score.rank,
        score.total,
        classes.get(score.classification, GROUP_NAMES["chua_du_du_lieu"]),
        score.total_min,
        score.total_max,
        ", ".join(str(i.number) for i in score.indicators if i.points is None),
        *(i.points for i in score.indicators),
        *_entered(score.entered),
        ", ".join(
            sorted(
                {
                    i.entered_from or score.period
                    for i in score.indicators
                    if i.basis == "entered" and i.points is not None
                }
            )
        ),
        score.counts.resolved_dossiers,
        score.counts.evaluations,
        score.counts.petitions,
    ]


@dataclass(frozen=True)
class Families:
    """An export's agencies in the file's order, each with its parent: siblings are ranked
    together, so a chunk's rows are read family by family (`whole`)."""

    ids: list[int]
    parent_of: dict[int, int | None]

    @classmethod
    def of(cls, agencies: Sequence[Agency]) -> Families:
        chosen = [a for a in agencies if a.id is not None]
        return cls([a.id for a in chosen if a.id], {a.id: a.parent_id for a in chosen if a.id})

    def whole(
        self, rows_of: Callable[[Session, list[int]], dict[int, list[Any]]]
    ) -> Callable[[Session, list[int]], Rows]:
        """`rows_of` a chunk, read with every agency of the export in the chunk's families,
        the rows of those a later chunk holds kept for it. A chunk's rows were read in its
        own transaction: a score that moved between two chunks (the current quarter moves
        with every answer) left siblings in two chunks ranked on two readings, two agencies
        ranked 2nd with different K in one file and none 3rd (reports audit). Kept rows are
        at most one family's more than a chunk."""
        members: dict[int | None, list[int]] = {}
        for agency_id in self.ids:
            members.setdefault(self.parent_of[agency_id], []).append(agency_id)
        kept: dict[int, list[Any]] = {}
        read: set[int | None] = set()  # families read (an agency gone meanwhile has no row)

        def rows_of_chunk(session: Session, chunk: list[int]) -> Rows:
            families = [f for f in dict.fromkeys(self.parent_of[i] for i in chunk) if f not in read]
            if families:
                kept.update(rows_of(session, [i for f in families for i in members[f]]))
                read.update(families)
            return [kept.pop(i) for i in chunk if i in kept]

        return rows_of_chunk


def chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


async def rows_in_chunks(
    work: UnitOfWork,
    ids: list[int],
    rows_of: Callable[[Session, list[int]], Rows],
) -> AsyncIterator[Rows]:
    """`rows_of` each chunk of agency ids, each chunk in its own short transaction.

    The key is asked for again before each chunk, as the evaluation exports ask: checked
    only before the first, a key the IT centre revoked mid-export went on to receive every
    agency left in the file (scope audit)."""
    for chunk in chunks(ids):

        def read(session: Session, chunk: list[int] = chunk) -> Rows:
            work.principal(session)
            return rows_of(session, chunk)

        yield await work.run(read)


def csv_text(rows: list[list[Any]], with_header: bool, headers: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if with_header:
        writer.writerow(headers)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue()
