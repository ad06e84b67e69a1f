"""The report's body as a list of blocks (headings, paragraphs, tables, pictures) that
docx.py and pdf.py each lay out in their own format, so both files say the same thing."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from service.console.format import local_day
from service.periods import period_words
from service.reports import charts, words
from service.reports.data import Report, Row

TITLE = (
    "Kết quả đánh giá mức độ hài lòng của người dân, doanh nghiệp đối với việc "
    "giải quyết thủ tục hành chính"
)
QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
TIEU_NGU = "Độc lập - Tự do - Hạnh phúc"
NUMBER = "Số: ……/BC-……"
# Bars in one ranking chart (17 pt each): 35 make a chart about 23 cm tall at the text's
# width, which leaves its caption room on an A4 page with 2 cm margins (25.7 cm of text).
BARS_PER_CHART = 35


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    italic: bool = False
    bold_lead: str = ""  # printed in bold before `text`


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    widths: list[float]  # relative column widths
    numeric: set[int] = field(default_factory=set)  # right-aligned columns
    name: str = ""  # what the tests look for


@dataclass(frozen=True)
class Picture:
    png: bytes
    caption: str


Block = Heading | Paragraph | Bullets | Table | Picture


def place_and_date(report: Report) -> str:
    return f"{report.place}, {words.date_words(report.issued_on)}"


def title_lines(report: Report) -> tuple[str, str]:
    return "BÁO CÁO", f"{TITLE} {period_words(report.period, inside=True)}"


def _satisfied_from(report: Report) -> str:
    """The rule the group column applies (K exactly at the threshold is satisfied under
    104/2024's profile; the sentence said "above" beside a K of 20 listed satisfied)."""
    threshold = words.num(report.threshold)
    if report.threshold_is_satisfied:
        return f"từ {threshold} điểm trở lên"
    return f"trên {threshold} điểm"


def _whom(report: Report) -> str:
    """What the figures are of: the children, or the parent itself when it has none."""
    return report.parent_name if report.own else "các đơn vị"


def _outcome(report: Report) -> str:
    """The ranking's sentence: the children by group, or, for an agency with no children,
    that there is nothing under it to rank and what its own result is (a ward's report said
    "0 đơn vị" and then "every unit is satisfied", of no unit; audit)."""
    if not report.own:
        groups = [row.score.group for row in report.rows]
        return (
            f"Trong {words.count(len(report.rows))} đơn vị trực thuộc {report.parent_name}: "
            f"{words.count(groups.count('hai_long'))} hài lòng, "
            f"{words.count(groups.count('khong_hai_long'))} không hài lòng, "
            f"{words.count(groups.count('chua_du_du_lieu'))} chưa đủ dữ liệu."
        )
    text = f"{report.parent_name} không có đơn vị trực thuộc để xếp hạng"
    if not report.rows:
        return text + "."
    score = report.rows[0].score
    text += (
        f"; báo cáo nêu kết quả của chính {report.parent_name}: "
        f"xếp loại {words.group_words(score.group).lower()}"
    )
    if score.rank:
        among = f"trực thuộc {report.owner_name}" if report.owner_name else "cùng cấp"
        text += f", xếp hạng {score.rank} trong các đơn vị {among}"
    return text + "."


def _ranking(report: Report) -> list[Block]:
    blocks: list[Block] = [
        Heading("I. KẾT QUẢ XẾP HẠNG"),
        Paragraph(
            f"Đánh giá theo bộ tiêu chí {report.profile_title} (mã {report.profile_name}): "
            f"K = A + B + C + D + E, tối đa {words.num(report.k_max)} điểm; đơn vị có K "
            f"{_satisfied_from(report)} được xếp loại hài lòng. {_outcome(report)}"
        ),
    ]
    rows = []
    for row in report.rows:
        s, parts = row.score, row.computed.parts  # printed exact (reports/data.py)
        rows.append(
            [
                str(s.rank) if s.rank else "—",
                s.agency_name,
                words.num(parts["a"]),
                words.num(parts["b"]),
                words.num(parts["c"]),
                words.num(parts["d"]),
                words.num(parts["e"], 0),
                words.num(row.computed.k),
                words.group_words(s.group),
                words.k_change(row.k_delta),
                words.rank_change(row.rank_delta),
            ]
        )
    blocks.append(
        Table(
            ["Hạng", "Đơn vị", "A", "B", "C", "D", "E", "K", "Xếp loại", "± K", "± Hạng"],
            rows,
            [12, 40, 10, 10, 10, 11, 8, 11, 22, 13, 18],
            numeric={0, 2, 3, 4, 5, 6, 7, 9},
            name="ranking",
        )
    )
    blocks.append(
        Paragraph(
            f"± K và ± Hạng: thay đổi so với {_previous_words(report)} "
            "(— khi một trong hai kỳ chưa có K). Điểm được làm tròn xuống hai chữ số thập phân.",
            italic=True,
        )
    )
    return [*blocks, *_ranking_charts(report)]


def _ranking_charts(report: Report) -> list[Picture]:
    """Figure 1 as charts of at most BARS_PER_CHART bars, the later ones captioned as its
    continuation. One chart grew 17 pt a child: a city's 168 wards made a picture 103 cm
    tall, cut off by Word and shrunk by the PDF to labels 2 pt high (reports audit)."""
    what = f"Điểm K của {_whom(report)}, " + period_words(report.period, inside=True)
    return [
        Picture(
            charts.ranking_bars(rows, report.threshold, report.k_max),
            f"Biểu đồ 1{' (tiếp)' if index else ''}. {what}",
        )
        for index, rows in enumerate(_even_parts(report.rows, BARS_PER_CHART))
    ]


def _even_parts(rows: list[Row], most: int) -> list[list[Row]]:
    """`rows` in order, in as few parts of at most `most` as hold them, of even sizes (168
    wards: 34, 34, 34, 34, 32, not a last chart of a few bars)."""
    if not rows:
        return []
    size = math.ceil(len(rows) / math.ceil(len(rows) / most))
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def _previous_words(report: Report) -> str:
    if report.previous is None:
        return "kỳ trước (không có: hệ thống không có số liệu trước năm 1900)"
    return period_words(report.previous, inside=True)


def _change(report: Report) -> str:
    """The comparison with the previous period: of the children, or of the agency itself."""
    if not report.own:
        return _children_change(report)
    delta = report.rows[0].k_delta if report.rows else None
    if delta is None:
        return f"chưa so sánh được K của {report.parent_name} (một trong hai kỳ chưa có K)."
    if delta > 0:
        return f"K của {report.parent_name} tăng {words.num(delta)} điểm."
    if delta < 0:
        return f"K của {report.parent_name} giảm {words.num(-delta)} điểm."
    return f"K của {report.parent_name} không đổi."


def _children_change(report: Report) -> str:
    """Counted over the children with a K in both periods, and the others said apart: with
    none comparable (an office's first report, a period with no data), "0 rose, 0 fell"
    read as "nothing changed" (audit; missing data is never a zero)."""
    deltas = [r.k_delta for r in report.rows if r.k_delta is not None]
    apart = len(report.rows) - len(deltas)
    if not deltas:
        return "chưa so sánh được (không đơn vị nào có K ở cả hai kỳ)."
    up, down = sum(1 for d in deltas if d > 0), sum(1 for d in deltas if d < 0)
    said = f"{words.count(up)} đơn vị tăng điểm, {words.count(down)} đơn vị giảm điểm"
    if same := len(deltas) - up - down:
        said += f", {words.count(same)} đơn vị không đổi"
    if apart:
        said += f"; {words.count(apart)} đơn vị chưa so sánh được (một trong hai kỳ chưa có K)"
    return said + "."


def _trend_table(report: Report) -> Table:
    """The children by group and their mean K per period; for an agency with no children,
    its own K and group (its one-agency "mean" and counts of 0 or 1 said nothing more)."""
    if report.own:
        return Table(
            ["Kỳ", "K", "Xếp loại"],
            [
                [
                    period_words(p.period),
                    words.num(p.mean_k),
                    words.group_words(
                        "hai_long"
                        if p.satisfied
                        else "khong_hai_long"
                        if p.not_satisfied
                        else "chua_du_du_lieu"
                    ),
                ]
                for p in report.trend
            ],
            [40, 25, 40],
            numeric={1},
            name="trend",
        )
    return Table(
        ["Kỳ", "Hài lòng", "Không hài lòng", "Chưa đủ dữ liệu", "K trung bình"],
        [
            [
                period_words(p.period),
                words.count(p.satisfied),
                words.count(p.not_satisfied),
                words.count(p.no_data),
                words.num(p.mean_k),
            ]
            for p in report.trend
        ],
        [40, 20, 25, 25, 25],
        numeric={1, 2, 3, 4},
        name="trend",
    )


def _trend(report: Report) -> list[Block]:
    blocks: list[Block] = [
        Heading("II. SO SÁNH VỚI KỲ TRƯỚC VÀ XU HƯỚNG"),
        Paragraph(f"So với {_previous_words(report)}: {_change(report)}"),
        _trend_table(report),
    ]
    if report.trend:
        blocks.append(
            Picture(
                charts.trend_lines(report.trend, report.threshold, report.k_max, one=report.own),
                f"Biểu đồ 2. Điểm K của {_whom(report)} qua {len(report.trend)} kỳ gần nhất",
            )
        )
    return blocks


def _reasons(report: Report) -> list[Block]:
    blocks: list[Block] = [Heading("III. CÁC ĐƠN VỊ CHƯA ĐẠT VÀ NGUYÊN NHÂN")]
    if not report.reasons:
        # Only of units there are: a ward with no children said "every unit is satisfied"
        # of none, beside its own "không hài lòng" (audit).
        if report.own and report.rows:
            done = f"{report.parent_name} được xếp loại hài lòng."
        elif not report.rows:
            done = "Không có đơn vị nào để xếp loại."
        else:
            done = "Tất cả các đơn vị đều được xếp loại hài lòng."
        return [*blocks, Paragraph(done)]
    for item in report.reasons:
        blocks.append(Paragraph(item.headline, bold_lead=f"{item.score.agency_name}: "))
        blocks.append(
            Bullets(
                [
                    f"{words.COMPONENTS[key]}: {' '.join(found)}"
                    for key, found in item.sentences.items()
                    if found
                ]
            )
        )
    return blocks


def _overdue(report: Report) -> list[Block]:
    blocks: list[Block] = [Heading("IV. PHẢN ÁNH, KIẾN NGHỊ QUÁ HẠN")]
    if not report.overdue:
        blocks.append(Paragraph("Không có phản ánh, kiến nghị nào quá hạn trong kỳ."))
    else:
        blocks.append(
            Table(
                ["Đơn vị", "Mã phản ánh", "Hồ sơ", "Tiếp nhận", "Hạn xử lý", "Xử lý", "Trễ"],
                [
                    [
                        p.agency_name,
                        p.petition_code,
                        p.dossier_code or "—",
                        local_day(p.received_at),
                        local_day(p.deadline_at),
                        local_day(p.handled_at) if p.handled_at else "chưa xử lý",
                        words.days_late(p.working_days_late),
                    ]
                    for p in report.overdue
                ],
                [34, 30, 30, 20, 20, 20, 14],
                numeric={6},
                name="overdue",
            )
        )
        note = "Trễ: số ngày làm việc sau ngày hết hạn xử lý (đến hôm nay nếu chưa xử lý)"
        if any(p.working_days_late < 1 for p in report.overdue):
            # Late to the score from the deadline's instant (contributions.petition_state)
            # before a whole working day has passed: said so, not "0 ngày" (audit).
            note += (
                "; “dưới 1 ngày”: đã quá giờ hết hạn nhưng chưa qua ngày làm việc nào sau "
                "ngày hết hạn (cùng ngày, hoặc trong những ngày nghỉ liền sau), vẫn tính là "
                "trễ hạn"
            )
        blocks.append(Paragraph(note + ".", True))
    if report.overdue_more:
        blocks.append(
            Paragraph(
                f"Còn {words.count(report.overdue_more)} phản ánh, kiến nghị quá hạn khác "
                "không liệt kê.",
                True,
            )
        )
    return blocks


def _staff(report: Report) -> list[Block]:
    rate = words.num(report.staff_below_rate)
    blocks: list[Block] = [
        Heading("V. CÁN BỘ CÓ CHỈ SỐ DƯỚI NGƯỠNG"),
        Paragraph(
            f"Cán bộ có A, B hoặc C dưới {rate}. B và C chỉ nêu khi cán bộ có từ "
            f"{words.count(report.min_evaluations)} phiếu đánh giá trở lên, để không thể suy "
            "ra người đã đánh giá; A tính trên hồ sơ cán bộ đã xử lý."
        ),
    ]
    if report.staff_below:
        blocks.append(
            Table(
                ["Đơn vị", "Mã cán bộ", "Họ tên", "Số phiếu", "A", "B", "C"],
                [
                    [
                        p.agency_name,
                        p.staff_code,
                        p.display_name or "—",
                        words.count(p.evaluations),
                        words.num(p.a),
                        words.num(p.b),
                        words.num(p.c),
                    ]
                    for p in report.staff_below
                ],
                [36, 22, 40, 16, 14, 14, 14],
                numeric={3, 4, 5, 6},
                name="staff",
            )
        )
    else:
        blocks.append(Paragraph("Không có cán bộ nào dưới ngưỡng."))
    if report.staff_withheld:
        blocks.append(
            # B or C, not the evaluations: five evaluations, one of which answered the
            # attitude question, are withheld too (C would be that answer; audit).
            Paragraph(
                f"{words.count(report.staff_withheld)} cán bộ có B hoặc C tính trên dưới "
                f"{words.count(report.min_evaluations)} phiếu trả lời "
                "trong kỳ hoặc trong một tháng của kỳ, hoặc được ẩn cùng những cán bộ ấy "
                "(điểm của đơn vị trừ đi điểm của họ sẽ lộ phiếu còn lại): không nêu B và C "
                "để bảo đảm bí mật của người đánh giá.",
                italic=True,
            )
        )
    return blocks


def _sources(report: Report) -> list[Block]:
    when = local_day(report.generated_at)
    return [
        Heading("VI. NGUỒN SỐ LIỆU"),
        Paragraph(
            "A, B, C tính từ hồ sơ đã giải quyết và phiếu đánh giá của người dân trong hệ thống "
            "hailong. D lấy giá trị nhập từ hệ thống phản ánh, kiến nghị nếu có, nếu không thì "
            "tính theo nhóm 5 của Quyết định 766/QĐ-TTg. E do cơ quan có thẩm quyền nhập vào "
            f"cuối kỳ. Số liệu tính ngày {when}."
        ),
        Table(
            ["Đơn vị", "D", "Nguồn D", "E", "Nguồn E", "Hồ sơ", "Phiếu", "Phản ánh"],
            [
                [
                    s.agency_name,
                    words.num(s.d),
                    s.d_words,
                    words.num(s.e, 0),
                    s.e_words,
                    words.count(s.resolved),
                    words.count(s.evaluations),
                    words.count(s.petitions),
                ]
                for s in report.sources
            ],
            [30, 12, 48, 8, 36, 13, 13, 14],
            numeric={1, 3, 5, 6, 7},
            name="sources",
        ),
    ]


def body(report: Report) -> list[Block]:
    return [
        *_ranking(report),
        *_trend(report),
        *_reasons(report),
        *_overdue(report),
        *_staff(report),
        *_sources(report),
    ]


def file_name(report: Report, extension: str) -> str:
    """'bao-cao-79-2025-Q3.docx': ASCII, so every browser keeps it."""
    safe = "".join(c if c.isalnum() or c in ".-_" else "-" for c in report.parent_code)
    return f"bao-cao-{safe}-{report.period.key}.{extension}"
