"""Response-rate exports (CSV and XLSX): the rows of GET /api/v1/response-rates, flat, one
line per agency (by=agency) or per counter, staff member or channel of each agency.

The same shape as the score exports (exports.py): Vietnamese headers, exact rates (a
spreadsheet formats them), texts kept as texts."""

from __future__ import annotations

from typing import Any

from service.models.dossier import CHANNEL_NAMES
from service.scoring.reach_schemas import AgencyReach, Dimension, ReachCounts, ReachRow

FLAG_TEXT = (
    "Tỉ lệ phản hồi thấp hơn nhiều so với đơn vị — có thể phiếu khảo sát chưa được trao cho "
    "người dân"
)
DIMENSION_NAMES: dict[Dimension, str] = {
    "agency": "Đơn vị",
    "counter": "Quầy",
    "staff": "Cán bộ",
    "channel": "Kênh trả kết quả",
    "message_channel": "Kênh tin nhắn",
}
NONE_NAMES: dict[Dimension, str] = {
    "agency": "",
    "counter": "Không ghi quầy",
    "staff": "Không ghi cán bộ",
    "channel": "Không rõ kênh",
    "message_channel": "",
}
HEADERS = [
    "Mã cơ quan",
    "Tên cơ quan",
    "Kỳ",
    "Theo",
    "Mã",
    "Tên",
    # Whose counter or staff member it is: with subtree=true two wards' "Q01" are two rows
    # that read alike but for this (audit).
    "Cơ quan của quầy/cán bộ",
    "Phiếu đã phát",
    "Đã gửi tin nhắn",
    "Đã mở",
    "Đã trả lời",
    "Phiếu đã thu hồi",
    "Tỉ lệ phản hồi",
    "Tỉ lệ phản hồi của đơn vị",
    "Cảnh báo",
]


def _counts(counts: ReachCounts) -> list[Any]:
    return [
        counts.issued,
        counts.delivered,
        counts.opened,
        counts.answered,
        counts.revoked,
        counts.rate,
    ]


def _name(row: ReachRow, by: Dimension) -> str | None:
    if row.group == "other_staff":
        return f"Cán bộ khác ({row.folded_staff} người, dưới ngưỡng ẩn danh)"
    if row.group == "none":
        return NONE_NAMES[by]
    if by == "channel":
        return CHANNEL_NAMES.get(row.key or "", NONE_NAMES["channel"])
    return row.label


def rows_of(reach: AgencyReach, period: str, by: Dimension) -> list[list[Any]]:
    head = [reach.agency_code, reach.agency_name, period, DIMENSION_NAMES[by]]
    if by == "agency":
        return [[*head, None, None, None, *_counts(reach.total), reach.total.rate, ""]]
    return [
        [
            *head,
            row.key,
            _name(row, by),
            row.owner_agency_code,
            *_counts(row),
            reach.total.rate,
            FLAG_TEXT if row.flagged else "",
        ]
        for row in reach.rows
    ]
