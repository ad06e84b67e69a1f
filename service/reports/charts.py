"""The report's two charts as PNG (Word takes no SVG; the PDF embeds the same picture).

Drawn with Pillow (already a dependency, for QR codes) and the vendored Noto Sans, so the
agency names keep their Vietnamese marks on a server without fonts. The portal's SVG charts
(service/portal/charts.py) are styled by the pages' CSS and cannot stand alone in a file.
Everything is drawn at SCALE times its size in points, for print.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from service.portal.charts import nice_ticks
from service.portal.picker import name_of
from service.portal.trend_chart import short_label
from service.reports import words
from service.reports.data import Row, TrendPoint
from service.settings import ROOT
from service.text_clean import one_line

FONTS = ROOT / "static" / "fonts"
SCALE = 3
WIDTH = 480  # points: the text width of an A4 page with 2 cm margins, about
INK, GRID, MUTED = (33, 37, 41), (222, 226, 230), (108, 117, 125)
COLOURS = {
    "hai_long": (25, 135, 84),
    "khong_hai_long": (200, 35, 51),
    "chua_du_du_lieu": (173, 181, 189),
}
THRESHOLD = (13, 110, 253)

Font = ImageFont.FreeTypeFont


@lru_cache(maxsize=8)
def font(size: int, bold: bool = False) -> Font:
    name = "NotoSans-Bold.ttf" if bold else "NotoSans-Regular.ttf"
    return ImageFont.truetype(str(FONTS / name), size * SCALE)


def _png(image: Image.Image) -> bytes:
    # Pillow's default compression: `optimize=True` took 0.26 s a chart instead of 0.06 s
    # (three charts for 72 wards, seven for HCMC's 168) to save 2 % of the file.
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _fit(draw: ImageDraw.ImageDraw, text: str, width: float, face: Font) -> str:
    """`text`, cut with '…' to fit `width` pixels."""
    if draw.textlength(text, font=face) <= width:
        return text
    while text and draw.textlength(text + "…", font=face) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _dashed(draw: ImageDraw.ImageDraw, x: float, top: float, bottom: float) -> None:
    y = top
    while y < bottom:
        draw.line([(x, y), (x, min(y + 4 * SCALE, bottom))], fill=THRESHOLD, width=SCALE)
        y += 7 * SCALE


def ranking_bars(rows: Sequence[Row], threshold: float, k_max: float) -> bytes:
    """One horizontal bar per agency in ranking order: K from 0 (green: satisfied, red: not),
    or, without a K, the grey range K can still reach; the threshold as a dashed line."""
    s = SCALE
    label_w, value_w, bar_h, gap, top, bottom = 170, 44, 12, 5, 26, 22
    height = top + bottom + max(len(rows), 1) * (bar_h + gap)
    image = Image.new("RGB", (WIDTH * s, height * s), "white")
    draw = ImageDraw.Draw(image)
    small, label = font(7), font(8)
    x0, x1 = label_w * s, (WIDTH - value_w) * s

    def x(value: float) -> float:
        return x0 + (x1 - x0) * max(0.0, min(value, k_max)) / k_max

    plot_bottom = (height - bottom) * s
    for tick in nice_ticks(0, k_max):
        if tick > k_max:
            continue
        draw.line([(x(tick), top * s), (x(tick), plot_bottom)], fill=GRID, width=s)
        draw.text(
            (x(tick), plot_bottom + 3 * s), words.num(tick), fill=MUTED, font=small, anchor="mt"
        )
    for index, row in enumerate(rows):
        score = row.score
        y = (top + index * (bar_h + gap)) * s
        rank = f"{score.rank}. " if score.rank else "–  "
        name = _fit(draw, rank + one_line(score.agency_name), (label_w - 6) * s, label)
        draw.text((x0 - 6 * s, y + bar_h * s / 2), name, fill=INK, font=label, anchor="rm")
        if score.k is not None:
            draw.rectangle([x0, y, x(score.k), y + bar_h * s], fill=COLOURS[score.group])
            text = words.num(row.computed.k)  # exact (reports/data.py)
            end = x(score.k)
        else:
            draw.rectangle(
                [x(score.k_min), y, x(score.k_max), y + bar_h * s],
                outline=COLOURS["chua_du_du_lieu"],
                width=s,
                fill=(241, 243, 245),
            )
            text = "chưa đủ dữ liệu"
            end = x(score.k_max)
        draw.text((end + 4 * s, y + bar_h * s / 2), text, fill=INK, font=label, anchor="lm")
    _dashed(draw, x(threshold), (top - 6) * s, plot_bottom)
    draw.text(
        (x(threshold), (top - 8) * s),
        f"Ngưỡng hài lòng: {words.num(threshold)}",
        fill=THRESHOLD,
        font=small,
        anchor="ms",
    )
    return _png(image)


def trend_lines(
    points: Sequence[TrendPoint], threshold: float, k_max: float, *, one: bool = False
) -> bytes:
    """The children's mean K per period (a line), the lowest to the highest K (a band),
    and the threshold (dashed). `one`: the K of one agency (a report on an agency with no
    children), which has no band and is no mean."""
    s = SCALE
    height, left, right, top, bottom = 200, 34, 12, 24, 24
    image = Image.new("RGB", (WIDTH * s, height * s), "white")
    draw = ImageDraw.Draw(image)
    small = font(7)
    known = [float(p.min_k) for p in points if p.min_k is not None]
    floor = float(max(0, math.floor(min([*known, threshold])) - 1))
    ticks = [t for t in nice_ticks(floor, k_max) if floor <= t <= k_max]

    def y(exact: Fraction | float) -> float:
        value = float(exact)
        span = (k_max - floor) or 1
        clamped = max(floor, min(value, k_max))
        return (height - bottom - (clamped - floor) / span * (height - bottom - top)) * s

    def x(index: int) -> float:
        step = (WIDTH - left - right) / max(len(points), 1)
        return (left + step * (index + 0.5)) * s

    for tick in ticks:
        draw.line([(left * s, y(tick)), ((WIDTH - right) * s, y(tick))], fill=GRID, width=s)
        draw.text(((left - 4) * s, y(tick)), words.num(tick), fill=MUTED, font=small, anchor="rm")
    for index, point in enumerate(points):
        if not one and point.min_k is not None and point.max_k is not None:
            draw.rectangle(
                [x(index) - 6 * s, y(point.max_k), x(index) + 6 * s, y(point.min_k)],
                fill=(207, 226, 255),
            )
        label = short_label(name_of(point.period))
        draw.text((x(index), (height - bottom + 6) * s), label, fill=MUTED, font=small, anchor="mt")
    tick_y = y(threshold)
    step = 7 * s
    for start in range(left * s, (WIDTH - right) * s, step):
        draw.line([(start, tick_y), (start + 4 * s, tick_y)], fill=THRESHOLD, width=s)
    line = [(x(i), y(p.mean_k)) for i, p in enumerate(points) if p.mean_k is not None]
    if len(line) > 1:
        draw.line(line, fill=INK, width=2 * s, joint="curve")
    for i, p in enumerate(points):
        if p.mean_k is None:
            continue
        cx, cy = x(i), y(p.mean_k)
        draw.ellipse([cx - 3 * s, cy - 3 * s, cx + 3 * s, cy + 3 * s], fill=INK)
        # The exact mean (reports/data.py): its float may read as the next figure up.
        draw.text((cx, cy - 5 * s), words.num(p.mean_k), fill=INK, font=small, anchor="ms")
    line_words = (
        "Đường: K qua các kỳ"
        if one
        else "Đường: K trung bình của các đơn vị · vùng xanh: K thấp nhất đến cao nhất"
    )
    legend = f"{line_words} · nét đứt: ngưỡng hài lòng {words.num(threshold)}"
    draw.text((left * s, 6 * s), legend, fill=MUTED, font=small)
    return _png(image)
