"""Small server-rendered SVG charts: no JavaScript, a few hundred bytes, readable on a phone."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape


def weekly_bars(weeks: Sequence[tuple[date, int]], forecast: Sequence[tuple[date, float, float, float]] = (),
                *, title: str = "", width: int = 340, height: int = 120) -> Markup:
    """Bars of units per week, then the forecast as a line with its interval as a band.
    `forecast` rows are (week, low, mean, high)."""
    points = len(weeks) + len(forecast)
    if points == 0:
        return Markup("")
    top = max([u for _, u in weeks] + [hi for *_, hi in forecast] + [1])
    pad, bottom = 4, height - 16
    step = (width - 2 * pad) / points
    scale = (bottom - pad) / top
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{pad}" y1="{bottom}" x2="{width - pad}" y2="{bottom}" class="axis"/>']
    for i, (week, units) in enumerate(weeks):
        x, h = pad + i * step + 1, units * scale
        parts.append(f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" '
                     f'class="bar"><title>{week.isoformat()}: {units}</title></rect>')
    if forecast:
        xs = [pad + (len(weeks) + i + 0.5) * step for i in range(len(forecast))]
        upper = " ".join(f"{x:.1f},{bottom - hi * scale:.1f}" for x, (*_, hi) in zip(xs, forecast, strict=True))
        lower = " ".join(f"{x:.1f},{bottom - lo * scale:.1f}"
                         for x, (_, lo, _m, _h) in reversed(list(zip(xs, forecast, strict=True))))
        mean = " ".join(f"{x:.1f},{bottom - m * scale:.1f}" for x, (_, _l, m, _h) in zip(xs, forecast, strict=True))
        parts.append(f'<polygon points="{upper} {lower}" class="band"/>')
        parts.append(f'<polyline points="{mean}" class="mean"/>')
    first = weeks[0][0] if weeks else forecast[0][0]
    parts.append(f'<text x="{pad}" y="{height - 3}" class="label">{first.strftime("%m-%d")}</text>')
    parts.append(f'<text x="{width - pad}" y="10" class="label" text-anchor="end">{top:g}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
