"""The pieces behind the public pages that need no database: SVG charts, the badge's
geometry, numbers as people read them, periods offered, and the plain-words facts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from datetime import date
from fractions import Fraction

import pytest

from service import numbers
from service.periods import parse_period
from service.portal import badge, charts, picker, plain_words, trend
from service.portal.memo import ComputeMemo
from service.profile import load_profile
from service.scoring.compute import compute

SVG = "{http://www.w3.org/2000/svg}"
PROFILE = load_profile("hcmc-104-2024")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def find_all(root: ET.Element, tag: str, css: str | None = None) -> list[ET.Element]:
    """Elements by tag (with or without the SVG namespace: inline SVG may omit it)."""
    found = [e for e in root.iter() if e.tag in (tag, f"{SVG}{tag}")]
    return [e for e in found if css is None or css in (e.get("class") or "").split()]


# --- charts ----------------------------------------------------------------------------------


def line(values: list[float | None], **extra: object) -> ET.Element:
    points = [
        charts.LinePoint(
            f"Q{i}",
            v,
            low=None if v is not None else 19.0,
            high=None if v is not None else 21.5,
            text="" if v is None else f"{v:g}",
        )
        for i, v in enumerate(values)
    ]
    options: dict[str, object] = {
        "chart_id": "t",
        "title": "K <trend>",
        "desc": "desc & more",
        "y_min": 15.0,
        "y_max": 22.0,
        "threshold": 20.0,
        "threshold_label": "Ngưỡng hài lòng: 20",
        **extra,
    }
    return parse(str(charts.line_chart(points, **options)))  # type: ignore[arg-type]


def test_line_chart_is_a_labelled_image_with_escaped_title_and_desc() -> None:
    root = line([20.5, 21.0])
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "t-t t-d"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.get("id") == "t-t" and title.text == "K <trend>"
    assert desc is not None and desc.get("id") == "t-d" and desc.text == "desc & more"


def test_line_chart_breaks_at_missing_values_and_draws_their_range() -> None:
    root = line([20.5, 21.0, None, 19.0, 19.5])
    lines = find_all(root, "polyline", "line")
    assert [len((pl.get("points") or "").split()) for pl in lines] == [2, 2]
    assert len(find_all(root, "circle", "dot")) == 4
    (box,) = find_all(root, "rect", "range")
    top, height = float(box.get("y") or 0), float(box.get("height") or 0)
    frame = charts.Frame(5, 15.0, 22.0, 210, charts.LEGEND_TOP)
    assert top == pytest.approx(frame.y(21.5), abs=0.1)
    assert top + height == pytest.approx(frame.y(19.0), abs=0.1)
    values = [t.text for t in find_all(root, "text", "value")]
    assert values == ["20.5", "21", "19", "19.5"]


def test_line_chart_places_higher_values_higher_and_marks_the_threshold() -> None:
    root = line([18.0, 22.0])
    low, high = find_all(root, "circle", "dot")
    assert float(high.get("cy") or 0) < float(low.get("cy") or 0)
    thresholds = find_all(root, "line", "threshold")
    frame = charts.Frame(2, 15.0, 22.0, 210, charts.LEGEND_TOP)
    assert any(float(t.get("y1") or 0) == pytest.approx(frame.y(20), abs=0.1) for t in thresholds)
    labels = [t.text for t in find_all(root, "text", "threshold-label")]
    assert labels == ["Ngưỡng hài lòng: 20"]
    axis = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert axis == ["16", "18", "20", "22"]


def test_twelve_points_keep_only_the_last_value_label() -> None:
    root = line([20.0 + i / 10 for i in range(12)])
    assert [t.text for t in find_all(root, "text", "value")] == ["21.1"]
    assert len([t for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "middle"]) == 13


def test_bar_chart_bars_start_at_zero_and_scale_with_the_counts() -> None:
    points = [charts.BarPoint("a", 0, "0"), charts.BarPoint("b", 50, "50")]
    points.append(charts.BarPoint("c", 100, "100"))
    root = parse(str(charts.bar_chart(points, chart_id="b", title="t", desc="d")))
    heights = [float(b.get("height") or 0) for b in find_all(root, "rect", "bar")]
    assert heights[0] == 0 and heights[2] == pytest.approx(2 * heights[1], abs=0.2)
    assert [t.text for t in find_all(root, "text", "value")] == ["0", "50", "100"]


def test_gauge_fills_to_the_value_or_shows_the_reachable_range() -> None:
    known = parse(str(charts.gauge(20.7, 20.7, 20.7, 22, 20)))
    assert known.get("aria-hidden") == "true"
    assert [r.get("width") for r in find_all(known, "rect", "fill")] == ["20.7"]
    unknown = parse(str(charts.gauge(None, 2.5, 22, 22, 20)))
    assert find_all(unknown, "rect", "fill") == []
    (span,) = find_all(unknown, "rect", "range")
    assert (span.get("x"), span.get("width")) == ("2.5", "19.5")


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    assert charts.nice_ticks(0, 22) == [0, 10, 20, 30]
    assert charts.nice_ticks(15, 22) == [14, 16, 18, 20, 22]
    assert charts.nice_ticks(0, 413, most=4) == [0, 200, 400, 600]
    assert charts.nice_ticks(0, 1, most=4) == [0, 0.5, 1]
    assert charts.nice_ticks(0, 1, most=4, least_step=1) == [0, 1]  # counts: whole steps


# --- the badge -------------------------------------------------------------------------------


def test_badge_boxes_fit_their_words_and_pin_the_text_length() -> None:
    short, long = badge.layout("Chỉ số", "K 20"), badge.layout("Chỉ số hài lòng", "K 20,7")
    assert long.width > short.width
    assert long.left_text_length == badge.text_width("Chỉ số hài lòng")
    assert long.left_width == long.left_text_length + 2 * badge.PADDING
    assert long.right_text_x == pytest.approx(long.left_width + long.right_width / 2)
    # Vietnamese marks take the width of their base letter.
    assert badge.text_width("ệ") == badge.text_width("e")
    assert badge.text_width("Đ") == badge.text_width("D")


# --- numbers and periods ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "vi", "en"),
    [
        (21.325, "21,32", "21.32"),
        (19.996, "19,99", "19.99"),  # never rounds up onto the threshold
        (20.0, "20", "20"),
        (0.7, "0,7", "0.7"),  # 0.7 * 100 is 69.999...: still 0,7
        (21.435, "21,43", "21.43"),  # stored as 21.43499999...; read as 21.435
        (21.43 + 0.005, "21,43", "21.43"),  # 21.435000000000002: noise, not a score
        (150 / 7, "21,42", "21.42"),
        (Fraction(150, 7), "21,42", "21.42"),
        (2.9999999999999996, "3", "3"),  # 1/3 + 2/3 + 2 in floats: 3, not 2,99
        # Just below the threshold, from large counts: below it on screen too (was "20").
        (19.9999999995, "19,99", "19.99"),
        (19.9999999999999, "19,99", "19.99"),  # 15 digits, none noise (was "20": audit)
        (69.99999999999999, "70", "70"),  # 0.7 * 100's 16th digit: noise
        (Fraction(40509899999, 2025495000), "19,99", "19.99"),
        # Cut in integers: to Decimal's 28 digits it was 20.00...0, read "20" (audit).
        (Fraction(20 * 10**30 - 1, 10**30), "19,99", "19.99"),
        (1234.5, "1.234,5", "1,234.5"),
        (None, "—", "—"),
    ],
)
def test_numbers_round_down_and_use_the_language_s_decimal_mark(
    value: float | Fraction | None, vi: str, en: str
) -> None:
    assert numbers.number(value, "vi") == vi and numbers.number(value, "en") == en


def test_percentages_follow_the_same_rule_with_one_decimal() -> None:
    assert numbers.percent(2 / 3, "vi") == "66,6 %" and numbers.percent(2 / 3, "en") == "66.6 %"
    assert numbers.percent(0.6, "vi") == "60 %" and numbers.percent(None, "vi") == "—"


def test_counts_group_thousands_by_language() -> None:
    assert picker.count(1234567, "vi") == "1.234.567"
    assert picker.count(1234567, "en") == "1,234,567"


def test_picker_offers_recent_periods_newest_first_and_keeps_an_old_selection() -> None:
    offered = picker.choices(parse_period("2023-Q1"), today=date(2025, 8, 20))
    assert [p.key for p in offered["quarter"]][:2] == ["2025-Q3", "2025-Q2"]
    assert offered["quarter"][-1].key == "2023-Q1"
    assert offered["month"][0].key == "2025-08"
    assert len(offered["month"]) == 12
    assert [p.key for p in offered["year"]] == ["2025", "2024", "2023"]
    assert picker.default_period(date(2025, 10, 1)).key == "2025-Q4"


def test_trend_periods_end_at_the_period_shown() -> None:
    months = trend.trend_periods(parse_period("2025-08"), date(2025, 9, 1))
    assert months[0].key == "2024-09" and months[-1].key == "2025-08"
    running = trend.trend_periods(parse_period("2025"), date(2025, 8, 1))
    assert running[-1].key == "2025-Q3" and len(running) == 8
    past = trend.trend_periods(parse_period("2024"), date(2025, 8, 1))
    assert past[-1].key == "2024-Q4"


# --- plain words -----------------------------------------------------------------------------


def test_facts_count_what_each_component_rests_on() -> None:
    counts = Counter(
        resolved=120,
        a_on_time=110,
        a_late_grace=7,
        a_late_over=3,
        b_answered=40,
        b_points=38,
        c_answered=40,
        c_points=36,
        evaluations=40,
        petitions=4,
        petitions_in_authority=3,
        petitions_in_authority_on_time=2,
        petitions_bad=1,
        c_bad_dossiers=9,
    )
    found = plain_words.facts(compute(counts, 17.5, None, PROFILE), PROFILE)
    assert found["a"] == [
        plain_words.Fact("a_on_time", 110, 120),
        plain_words.Fact("a_late_grace", 7, 120, 0.0, 5),
        plain_words.Fact("a_late_over", 3, 120, limit=5),
    ]
    assert found["b"] == [plain_words.Fact("b_supplements", 2, 40, limit=2)]
    assert found["c"] == [plain_words.Fact("c_good", 36, 40)]
    assert found["d"] == [plain_words.Fact("d_entered", value=17.5)]
    assert found["e"] == [plain_words.Fact("e_none")]
    assert found["group5"] == [
        plain_words.Fact("g5_petitions_on_time", 2, 3),
        plain_words.Fact("g5_petitions_bad", 1, 4),
        plain_words.Fact("g5_dossiers_bad", 9, 120),
    ]


def test_facts_without_any_data_say_so_rather_than_zero() -> None:
    found = plain_words.facts(compute(Counter(), None, None, PROFILE), PROFILE)
    assert found["a"] == [plain_words.Fact("a_none")]
    assert found["b"] == [plain_words.Fact("b_none")]
    assert found["c"] == [plain_words.Fact("c_none")]
    assert found["d"] == [plain_words.Fact("d_none")]
    assert found["group5"] == [plain_words.Fact("g5_no_petitions_in_authority")]
    everything_on_time = compute(Counter(resolved=8, a_on_time=8), None, 0, PROFILE)
    found = plain_words.facts(everything_on_time, PROFILE)
    assert found["a"] == [plain_words.Fact("a_all_on_time", 8, 8)]
    assert found["e"] == [plain_words.Fact("e_not_posted", value=0.0)]


# --- remembered arithmetic -------------------------------------------------------------------


def test_memo_gives_compute_s_answer_and_recomputes_when_a_figure_changes() -> None:
    memo = ComputeMemo(PROFILE)
    counts = Counter(resolved=10, a_on_time=9, a_late_over=1, b_answered=4, b_points=4)
    counts.update(c_answered=4, c_points=3, evaluations=4)
    first = memo.compute(counts, 17.0, 1)
    assert first.k == compute(counts, 17.0, 1, PROFILE).k
    assert memo.compute(Counter(counts), 17.0, 1) is first  # same figures: remembered
    assert memo.compute(counts, 17.0, 0) is not first  # E changed
    changed = counts + Counter(c_points=1)
    assert memo.compute(changed, 17.0, 1).k == compute(changed, 17.0, 1, PROFILE).k
    assert len(memo) == 3
