"""Evaluations and petitions as flat rows for CSV and XLSX: Vietnamese headers, local times
with their offset, yes/no, answers, sources and channels in words (the JSON API keeps the
codes, for programs), every text a spreadsheet could take for a formula kept as text.

The converters are chosen once per column, not per cell: a million rows pass through here
per export, and the work per cell is most of the export's time."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from service.calendar.working_days import LOCAL_TZ
from service.csv_cells import csv_cell
from service.models.dossier import CHANNEL_NAMES
from service.profile import Profile, QuestionField

Convert = Callable[[Any], Any]


def _time(value: datetime | None) -> str:
    """In the zone days are cut in: a fixed +07:00 put a time of 1970 (UTC+8 until 13/6/1975)
    on another day than its own 'Ngày tính điểm' (reports audit). The zone costs about as
    much as the fixed offset did (1.29 against 1.24 µs a time)."""
    return value.astimezone(LOCAL_TZ).isoformat() if value is not None else ""


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _words(yes: str, no: str) -> Convert:
    def convert(value: Any) -> str:
        return "" if value is None else (yes if value else no)

    return convert


def _same(value: Any) -> Any:
    return "" if value is None else value


YES_NO = _words("Có", "Không")
PETITION_STATES = {"on_time": "Đúng hạn", "late": "Trễ hạn", "open": "Chưa đến hạn"}


def _states(value: Any) -> str:
    return PETITION_STATES.get(value, "")


class Named:
    """A text column holding a code, written as the name a reader of the sheet knows it by.
    A code without a name (an answer of a question the profile no longer asks) is written
    as it is, never dropped."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def then(self, text: Convert) -> Convert:
        names = self.names

        def convert(value: Any) -> Any:
            return text(names.get(value, value) if value is not None else None)

        return convert


EVALUATION_SOURCES = Named(
    {"phone": "Điện thoại", "kiosk": "Máy tính bảng tại quầy", "api": "Hệ thống một cửa (API)"}
)
PETITION_SOURCES = Named({"survey": "Phiếu khảo sát", "import": "Hệ thống PAKN quốc gia"})
PETITION_KINDS = Named({"petition": "Phản ánh, kiến nghị", "comment": "Góp ý, không cần trả lời"})
VERDICTS = Named({"satisfied": "Hài lòng", "unsatisfied": "Không hài lòng"})
CHANNELS = Named(CHANNEL_NAMES)


class Answers(Named):
    """The answers to one question, named in the profile's Vietnamese by `columns_of`
    (which knows the profile); used unnamed, it writes the codes as they are."""

    def __init__(self, field: QuestionField) -> None:
        super().__init__({})
        self.field = field


Column = tuple[str, Convert | Named]


def _named(profile: Profile, convert: Convert | Named) -> Convert | Named:
    if not isinstance(convert, Answers):
        return convert
    question = profile.survey.question(convert.field)
    return Named({a.value: a.vi for a in question.answers} if question else {})


DOSSIER_COLUMNS: list[Column] = [
    ("Mã hồ sơ", csv_cell),
    ("Cơ quan của hồ sơ", csv_cell),
    ("Mã thủ tục", csv_cell),
    ("Tên thủ tục", csv_cell),
    ("Tiếp nhận lúc", _time),
    ("Hẹn trả lúc", _time),
    ("Giải quyết lúc", _time),
    ("Trả kết quả lúc", _time),
    ("Tiến độ hồ sơ", _words("Trễ hạn", "Đúng hạn")),  # from is_late
    ("Số ngày làm việc trễ", _same),
    ("Số lần yêu cầu bổ sung", _same),
    ("Kênh trả kết quả", CHANNELS),
    ("Quầy", csv_cell),
    ("Cán bộ tiếp nhận", csv_cell),
    ("Cán bộ xử lý", csv_cell),
    ("Cán bộ trả kết quả", csv_cell),
]
# In the order of query.evaluations_statement's columns.
EVALUATION_COLUMNS: list[Column] = [
    ("Mã đánh giá", _same),
    ("Đánh giá lúc", _time),
    ("Ngày tính điểm", _day),
    ("Mã cơ quan", csv_cell),
    ("Nguồn", EVALUATION_SOURCES),
    ("Trả lời: đúng hẹn", Answers("timeliness")),
    ("Trả lời: bổ sung hồ sơ", Answers("supplement_requests")),
    ("Trả lời: thái độ cán bộ", Answers("staff_attitude")),
    ("Trả lời: mức hài lòng chung", Answers("overall")),
    ("Trả lời: số nơi phải liên hệ", Answers("agencies_contacted")),  # where TT 01 is computed
    ("Nhóm 5: hài lòng", _words("Không", "Có")),  # from "unsatisfied"
    *DOSSIER_COLUMNS,
]
EVALUATION_PRIVATE: list[Column] = [
    ("Nội dung góp ý", csv_cell),
    ("Liên hệ", csv_cell),
]
PETITION_COLUMNS: list[Column] = [
    ("Mã nội bộ", _same),
    ("Mã PAKN", csv_cell),
    ("Mã cơ quan", csv_cell),
    ("Nguồn", PETITION_SOURCES),
    ("Loại", PETITION_KINDS),
    ("Tính vào nhóm 5", YES_NO),
    ("Tiếp nhận lúc", _time),
    ("Ngày tính điểm", _day),
    ("Hạn xử lý", _time),
    ("Xử lý lúc", _time),
    ("Xử lý đúng hạn", YES_NO),
    ("Xử lý trễ hạn", YES_NO),
    # As the score and its explanation count it when the export was made: one still open
    # past its deadline is late from that moment (DESIGN.md, group 5).
    ("Tình trạng theo hạn", _states),
    ("Thuộc thẩm quyền", YES_NO),
    ("Trả lời người dân lúc", _time),
    ("Ý kiến người dân", VERDICTS),
    ("Ý kiến lúc", _time),
    ("Khiếu nại kết quả", YES_NO),
    *DOSSIER_COLUMNS,
]
PETITION_PRIVATE: list[Column] = [
    ("Kết quả xử lý (nội dung)", csv_cell),
    ("Trả lời (nội dung)", csv_cell),
    ("Liên hệ", csv_cell),
]


class Table:
    """The headers and cell converters of one export. `text`: how a text cell is written
    (CSV: `csv_cell`; XLSX: `XlsxWriter.text`, see service/xlsx.py)."""

    def __init__(self, columns: Sequence[Column], text: Convert = csv_cell) -> None:
        self.headers = [title for title, _ in columns]
        self._converters = [_converter(convert, text) for _, convert in columns]

    def rows(self, rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
        converters = self._converters
        return [[f(v) for f, v in zip(converters, row, strict=True)] for row in rows]

    def csv_text(self, rows: Sequence[Sequence[Any]], with_header: bool) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        if with_header:
            writer.writerow(self.headers)
        writer.writerows(self.rows(rows))
        return buffer.getvalue()


def _converter(convert: Convert | Named, text: Convert) -> Convert:
    if isinstance(convert, Named):
        return convert.then(text)
    return text if convert is csv_cell else convert


def columns_of(kind: str, include_private: bool, profile: Profile) -> list[Column]:
    """The export's columns, its answers named in `profile`'s words."""
    if kind == "evaluations":
        columns = EVALUATION_COLUMNS + (EVALUATION_PRIVATE if include_private else [])
    else:
        columns = PETITION_COLUMNS + (PETITION_PRIVATE if include_private else [])
    return [(title, _named(profile, convert)) for title, convert in columns]
