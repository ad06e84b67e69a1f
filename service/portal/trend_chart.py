"""From an agency's trend (service/portal/trend.py) to chart points and a summary in words."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from service.numbers import number
from service.portal.charts import BarPoint, LinePoint
from service.portal.picker import PeriodName, count, name_of
from service.portal.trend import TrendPoint
from service.scoring.compute import Computed


def short_label(name: PeriodName) -> str:
    """Axis labels that fit 12 to a 360 px phone: Q3/25, 8/25, 2025."""
    year = f"{name.year % 100:02d}"
    if name.kind == "quarter":
        return f"Q{name.number}/{year}"
    if name.kind == "month":
        return f"{name.number}/{year}"
    return str(name.year)


def has_data(computed: Computed) -> bool:
    """Anything counted or entered for the period. A period with nothing at all (before the
    agency joined, say) is drawn as a gap, not as the whole 0..22 range."""
    return any(computed.counts.values()) or any(v is not None for v in computed.parts.values())


def line_points(points: Sequence[TrendPoint], lang: str) -> list[LinePoint]:
    result = []
    for point in points:
        c = point.computed
        k = float(c.k) if c.k is not None else None
        ranged = k is None and has_data(c)
        result.append(
            LinePoint(
                label=short_label(name_of(point.period)),
                value=k,
                low=float(c.k_min) if ranged else None,
                high=float(c.k_max) if ranged else None,
                # Exact (views.py): the float of a K a hair under 20 reads "20".
                text=number(c.k, lang) if c.k is not None else "",
            )
        )
    return result


def bar_points(points: Sequence[TrendPoint], lang: str) -> list[BarPoint]:
    return [
        BarPoint(
            label=short_label(name_of(p.period)),
            value=p.computed.counts["evaluations"],
            text=count(p.computed.counts["evaluations"], lang),
        )
        for p in points
    ]


def y_floor(points: Sequence[TrendPoint], threshold: float) -> float:
    """Where the K axis starts: a little under the lowest K and the threshold, so that the
    line's movement shows (ranges reaching lower are cut at the axis); without any K, low
    enough for the ranges."""
    known = [float(p.computed.k) for p in points if p.computed.k is not None]
    lows = known or [float(p.computed.k_min) for p in points if has_data(p.computed)]
    lowest = min([*lows, threshold])
    return float(max(0, math.floor(lowest) - 1))


@dataclass(frozen=True)
class Summary:
    best: TrendPoint | None
    worst: TrendPoint | None
    missing: int  # periods with data but not enough for a K (drawn as ranges)
    empty: int  # periods with no data at all (gaps)


def summary(points: Sequence[TrendPoint]) -> Summary:
    known = [p for p in points if p.computed.k is not None]
    empty = sum(1 for p in points if not has_data(p.computed))
    missing = len(points) - len(known) - empty

    def k_of(point: TrendPoint) -> float:
        return float(point.computed.k or 0)

    if not known:
        return Summary(None, None, missing, empty)
    return Summary(max(known, key=k_of), min(known, key=k_of), missing, empty)
