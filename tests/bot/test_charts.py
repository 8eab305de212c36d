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
