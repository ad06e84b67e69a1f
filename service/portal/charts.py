"""Charts as server-rendered SVG: a line (K over time) and bars (counts over time).

Hand-built on purpose: two small chart shapes do not justify a dependency, and inline SVG
needs no script, no third-party request and passes the pages' strict CSP (presentation
attributes and classes styled by /static/portal.css). Each chart is an `role="img"` with a
<title> and <desc>; the pages put the same figures in a table beside it.

Text is given by the caller (already translated); every string is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 360  # the viewBox: one unit is about one CSS pixel on a 360 px phone
LEFT, RIGHT, TOP, BOTTOM = 34, 10, 18, 26
LEGEND_TOP = 36  # room above the plot for the threshold's legend


@dataclass(frozen=True)
class LinePoint:
    label: str  # short x-axis label, e.g. "Q3/25"
    value: float | None  # None: no value for this period (a gap in the line)
    low: float | None = None  # when value is None: the range it can still reach
    high: float | None = None
    text: str = ""  # the value as printed on the page (decimal comma and all)


@dataclass(frozen=True)
class BarPoint:
    label: str
    value: int
    text: str = ""


@dataclass(frozen=True)
class Frame:
    """Maps values to the plot area of a chart `height` units tall."""

    count: int
    y_min: float
    y_max: float
    height: int
    top: int = TOP

    @property
    def plot_width(self) -> float:
        return WIDTH - LEFT - RIGHT

    @property
    def plot_bottom(self) -> float:
        return self.height - BOTTOM

    def x(self, index: int) -> float:
        step = self.plot_width / self.count
        return LEFT + step * (index + 0.5)

    def y(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1
        clamped = min(max(value, self.y_min), self.y_max)
        return self.plot_bottom - (clamped - self.y_min) / span * (self.plot_bottom - self.top)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_ticks(low: float, high: float, most: int = 5, least_step: float = 0) -> list[float]:
    """Round tick values covering low..high: steps of 1, 2 or 5 times a power of ten, and
    at least `least_step` (1 for counts: there is no half an evaluation)."""
    span = max(high - low, 1e-9)
    raw = span / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = max(next(m * power for m in (1, 2, 5, 10) if m * power >= raw), least_step)
    first = math.floor(low / step) * step
    ticks, tick = [first], first
    while tick < high - step * 1e-6:
        tick += step
        ticks.append(round(tick, 10))
    return ticks


def _open(chart_id: str, height: int, title: str, desc: str, css: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css)}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>',
    ]


def _y_axis(frame: Frame, ticks: Sequence[float], labels: Sequence[str]) -> list[str]:
    parts = ['<g class="axis">']
    for tick, label in zip(ticks, labels, strict=True):
        y = _n(frame.y(tick))
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>')
        parts.append(
            f'<text x="{LEFT - 5}" y="{y}" text-anchor="end" dy="0.35em">{escape(label)}</text>'
        )
    parts.append("</g>")
    return parts


def _x_axis(frame: Frame, labels: Sequence[str]) -> list[str]:
    baseline = _n(frame.plot_bottom)
    parts = [
        '<g class="axis">',
        f'<line class="base" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{baseline}" y2="{baseline}"/>',
    ]
    for index, label in enumerate(labels):
        parts.append(
            f'<text x="{_n(frame.x(index))}" y="{_n(frame.height - 8)}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</g>")
    return parts


def _value_label(x: float, y: float, dy: int, text: str) -> str:
    """A point's value printed `dy` units above it."""
    return (
        f'<text class="value" x="{_n(x)}" y="{_n(y)}" dy="{dy}" text-anchor="middle">'
        f"{escape(text)}</text>"
    )


def _close(parts: list[str], frame: Frame, labels: Sequence[str]) -> Markup:
    """The chart so far, with its x axis under it, as one <svg>."""
    return Markup("".join([*parts, *_x_axis(frame, labels), "</svg>"]))


def line_chart(
    points: Sequence[LinePoint],
    *,
    chart_id: str,
    title: str,
    desc: str,
    y_min: float,
    y_max: float,
    threshold: float | None = None,
    threshold_label: str = "",
    tick_text: Sequence[str] | None = None,
    height: int = 210,
) -> Markup:
    """A line through the known values; a period without a value breaks the line and shows
    the range it can still reach as a dashed box (values below `y_min` are cut at the axis).
    Value labels sit above the points when there is room (up to 8 points); the threshold is
    a dashed line, named in a legend above the plot."""
    frame = Frame(len(points), y_min, y_max, height, LEGEND_TOP if threshold_label else TOP)
    ticks = nice_ticks(y_min, y_max)
    ticks = [t for t in ticks if y_min <= t <= y_max]
    labels = list(tick_text) if tick_text is not None else [_n(t) for t in ticks]
    parts = _open(chart_id, height, title, desc, "line-chart")
    parts += _y_axis(frame, ticks, labels[: len(ticks)])
    if threshold is not None and y_min <= threshold <= y_max:
        y = _n(frame.y(threshold))
        parts.append(
            f'<line class="threshold" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>'
        )
        if threshold_label:
            parts.append(
                f'<line class="threshold" x1="{LEFT}" x2="{LEFT + 24}" y1="9" y2="9"/>'
                f'<text class="threshold-label" x="{LEFT + 30}" y="9" dy="0.35em">'
                f"{escape(threshold_label)}</text>"
            )
    for index, point in enumerate(points):
        if point.value is None and point.low is not None and point.high is not None:
            top, bottom = frame.y(point.high), frame.y(point.low)
            parts.append(
                f'<rect class="range" x="{_n(frame.x(index) - 5)}" y="{_n(top)}" width="10" '
                f'height="{_n(max(bottom - top, 1))}"/>'
            )
    segments: list[list[str]] = [[]]
    for index, point in enumerate(points):
        if point.value is None:
            segments.append([])
        else:
            segments[-1].append(f"{_n(frame.x(index))},{_n(frame.y(point.value))}")
    for segment in segments:
        if len(segment) > 1:
            parts.append(f'<polyline class="line" points="{" ".join(segment)}"/>')
    show_values = len(points) <= 8
    for index, point in enumerate(points):
        if point.value is None:
            continue
        cx, cy = frame.x(index), frame.y(point.value)
        parts.append(f'<circle class="dot" cx="{_n(cx)}" cy="{_n(cy)}" r="4"/>')
        if point.text and (show_values or index == len(points) - 1):
            parts.append(_value_label(cx, cy, -9, point.text))
    return _close(parts, frame, [p.label for p in points])


def bar_chart(
    points: Sequence[BarPoint],
    *,
    chart_id: str,
    title: str,
    desc: str,
    tick_text: Callable[[int], str] = str,
    height: int = 170,
) -> Markup:
    """Vertical bars from zero, each with its count printed above it. `tick_text` writes the
    axis' counts as the page writes its other counts (picker.count: "12.000" in Vietnamese;
    `:g` wrote "10000" and "1e+06" beside them; audit)."""
    top = max((p.value for p in points), default=0)
    ticks = [round(t) for t in nice_ticks(0, max(top, 1), most=4, least_step=1)]
    frame = Frame(len(points), 0, ticks[-1], height)
    parts = _open(chart_id, height, title, desc, "bar-chart")
    parts += _y_axis(frame, ticks, [tick_text(t) for t in ticks])
    bar = min(frame.plot_width / max(len(points), 1) * 0.6, 28)
    for index, point in enumerate(points):
        x, y = frame.x(index) - bar / 2, frame.y(point.value)
        parts.append(
            f'<rect class="bar" x="{_n(x)}" y="{_n(y)}" width="{_n(bar)}" '
            f'height="{_n(frame.plot_bottom - y)}"/>'
        )
        if point.text and len(points) <= 8:
            parts.append(_value_label(frame.x(index), y, -4, point.text))
    return _close(parts, frame, [p.label for p in points])


def gauge(value: float | None, low: float, high: float, maximum: float, threshold: float) -> Markup:
    """A horizontal 0..maximum bar for one score, decorative (aria-hidden): the number is
    printed beside it. Without a value it shows the reachable range. Kept small: a ranking
    draws 300 of them (the track is the element's CSS background)."""
    if value is not None:
        shape = f'<rect class="fill" width="{_n(max(value, 0))}" height="1"/>'
    else:
        shape = f'<rect class="range" x="{_n(low)}" width="{_n(max(high - low, 0))}" height="1"/>'
    return Markup(
        f'<svg class="gauge" viewBox="0 0 {_n(maximum)} 1" preserveAspectRatio="none" '
        f'aria-hidden="true">{shape}<path class="mark" d="M{_n(threshold)} 0V1"/></svg>'
    )
