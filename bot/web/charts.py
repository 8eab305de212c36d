"""Small server-rendered SVG charts: no JavaScript library, nothing fetched at run time."""

from __future__ import annotations

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
