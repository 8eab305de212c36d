"""The report charts are plain SVG: bars scale to their values and text is escaped."""

from __future__ import annotations

import re

from bot.web.charts import bar_chart


def _widths(svg: str) -> list[float]:
    return [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]


def test_bars_scale_to_the_largest_value_or_the_given_maximum() -> None:
    widths = _widths(bar_chart("t", [("a", 10), ("b", 5)]))
    assert widths[0] == 2 * widths[1]
    capped = _widths(bar_chart("t", [("a", 50)], maximum=100))
    full = _widths(bar_chart("t", [("a", 100)], maximum=100))
    assert capped[0] * 2 == full[0]


def test_missing_values_show_a_dash_and_empty_charts_say_so() -> None:
    svg = bar_chart("t", [("a", None)])
    assert "<rect" not in svg and "—" in svg
    assert "No data yet" in bar_chart("t", [])


def test_labels_are_escaped() -> None:
    svg = bar_chart("<b>", [("<script>", 1)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def _points(svg: str) -> list[list[tuple[float, float]]]:
    lines = re.findall(r'<polyline points="([^"]+)"', svg)
    return [[tuple(map(float, p.split(","))) for p in line.split()] for line in lines]  # type: ignore[misc]


def test_trend_lines_scale_to_their_values_and_break_where_data_is_missing() -> None:
    from bot.web.charts import line_chart  # noqa: PLC0415

    svg = line_chart("t", ["d1", "d2", "d3"], {"CSAT": [100, 50, 0]}, "%", maximum=100)
    (line,) = _points(svg)
    ys = [y for _, y in line]
    assert ys[0] < ys[1] < ys[2] and ys[1] - ys[0] == ys[2] - ys[1]
    gapped = line_chart("t", ["d1", "d2", "d3", "d4"], {"a": [1, None, 2, 3]})
    assert [len(segment) for segment in _points(gapped)] == [1, 2]
    assert "a d4: 3</title>" in gapped


def test_trend_legends_are_escaped_and_empty_trends_say_so() -> None:
    from bot.web.charts import line_chart  # noqa: PLC0415

    svg = line_chart("t", ["d1"], {"<script>": [1]})
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "No data yet" in line_chart("t", [], {})
    assert "No data yet" in line_chart("t", ["d1"], {"a": [None]})
