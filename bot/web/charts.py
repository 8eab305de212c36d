"""Small server-rendered SVG charts: no JavaScript library, nothing fetched at run time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

BAR_HEIGHT = 26
LABEL_WIDTH = 140
CHART_WIDTH = 520


def bar_chart(
    title: str, rows: list[tuple[str, float | None]], unit: str = "", maximum: float | None = None
) -> str:
    """A horizontal bar chart (its title is for screen readers; the page shows its own heading);
    rows without a value show a dash instead of a bar."""
    values = [v for _, v in rows if v is not None]
    top = maximum if maximum is not None else max(values, default=0.0) or 1.0
    height = BAR_HEIGHT * max(len(rows), 1) + 12
    span = CHART_WIDTH - LABEL_WIDTH - 60
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if not rows:
        parts.append('<text x="0" y="20" font-size="13" fill="#667">No data yet</text>')
    for i, (label, value) in enumerate(rows):
        y = 4 + i * BAR_HEIGHT
        parts.append(f'<text x="0" y="{y + 16}" font-size="13">{escape(label[:20])}</text>')
        if value is None:
            parts.append(
                f'<text x="{LABEL_WIDTH}" y="{y + 16}" font-size="13" fill="#667">—</text>'
            )
            continue
        width = max(2.0, span * value / top)
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{width:.1f}" height="{BAR_HEIGHT - 8}" '
            f'rx="3" fill="#2f6f4f"><title>{escape(label)}: {value:.0f}{unit}</title></rect>'
        )
        parts.append(
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 16}" font-size="13">'
            f"{value:.0f}{unit}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


LINE_HEIGHT = 210
PLOT_LEFT = 44
PLOT_TOP = 34
PLOT_BOTTOM = 24
COLOURS = ("#2f6f4f", "#c2571a", "#3a5fa8", "#8a3fa0", "#b59a00", "#5b6470", "#1f8a8a")


def line_chart(
    title: str,
    labels: list[str],
    series: Mapping[str, Sequence[float | None]],
    unit: str = "",
    maximum: float | None = None,
) -> str:
    """One line per series over the labels (days or weeks), with a legend; a missing value
    breaks its line, and every point carries its value as a tooltip."""
    values = [v for points in series.values() for v in points if v is not None]
    top = maximum if maximum is not None else max(values, default=0.0) or 1.0
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {CHART_WIDTH} {LINE_HEIGHT}" width="100%" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if not labels or not values:
        parts.append('<text x="0" y="20" font-size="13" fill="#667">No data yet</text></svg>')
        return "".join(parts)
    parts += _axes(labels, top, unit)
    for i, (name, points) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        parts += _legend(i, name, colour)
        parts += _line(name, labels, points, top, unit=unit, colour=colour)
    parts.append("</svg>")
    return "".join(parts)


def _x(i: int, count: int) -> float:
    span = CHART_WIDTH - PLOT_LEFT - 12
    return PLOT_LEFT + (span / 2 if count == 1 else span * i / (count - 1))


def _y(value: float, top: float) -> float:
    height = LINE_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    return PLOT_TOP + height * (1 - min(value, top) / top)


def _axes(labels: list[str], top: float, unit: str) -> list[str]:
    bottom = LINE_HEIGHT - PLOT_BOTTOM
    return [
        f'<line x1="{PLOT_LEFT}" y1="{bottom}" x2="{CHART_WIDTH - 12}" y2="{bottom}" '
        'stroke="#ccd" />',
        f'<text x="0" y="{PLOT_TOP + 4}" font-size="11" fill="#667">{top:.0f}{unit}</text>',
        f'<text x="0" y="{bottom}" font-size="11" fill="#667">0{unit}</text>',
        f'<text x="{PLOT_LEFT}" y="{LINE_HEIGHT - 6}" font-size="11" fill="#667">'
        f"{escape(labels[0])}</text>",
        f'<text x="{CHART_WIDTH - 12}" y="{LINE_HEIGHT - 6}" font-size="11" fill="#667" '
        f'text-anchor="end">{escape(labels[-1])}</text>',
    ]


def _legend(i: int, name: str, colour: str) -> list[str]:
    x, y = PLOT_LEFT + (i % 4) * 118, 10 + (i // 4) * 14
    return [
        f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}" />',
        f'<text x="{x + 14}" y="{y + 9}" font-size="11">{escape(name[:16])}</text>',
    ]


def _line(
    name: str,
    labels: list[str],
    points: Sequence[float | None],
    top: float,
    *,
    unit: str,
    colour: str,
) -> list[str]:
    parts: list[str] = []
    segment: list[str] = []
    for i, value in enumerate([*points, None]):
        if value is None:
            if segment:
                parts.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" '
                    'stroke-width="2" />'
                )
            segment = []
            continue
        x, y = _x(i, len(labels)), _y(value, top)
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"><title>'
            f"{escape(name)} {escape(labels[i])}: {value:.0f}{unit}</title></circle>"
        )
    return parts
