"""Charts as inline SVG text: line charts and horizontal bar charts, no plotting library.

    >>> svg = line_chart([Series("service", "#1f77b4", [(1, 10.0), (8, 70.0)])],
    ...                  title="throughput", x_label="concurrency", y_label="req/s")
    >>> svg.startswith("<svg") and "service" in svg
    True
    >>> "<rect" in bar_chart([("service", 1.5, "#1f77b4")], title="cost", unit="$")
    True

Every text is escaped (characters XML cannot hold dropped); a chart is a ``role="img"`` with
its title as ``aria-label``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Series", "bar_chart", "line_chart", "nice_ticks"]

_W, _H = 640, 320
# characters XML 1.0 does not allow anywhere, escaped or not
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 150, 36, 48


@dataclass(frozen=True)
class Series:
    """One line: its name (in the legend), colour and points ``(x, y)``."""

    name: str
    color: str
    points: Sequence[tuple[float, float]]
    step: bool = False
    """Draw as steps (a cumulative distribution), not straight segments."""


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``high``.

    >>> nice_ticks(87)
    [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    """
    if not (math.isfinite(high) and high > 1e-12):  # nothing to scale: one unit
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    top = math.ceil(high / step - 1e-9)
    return [float(round(i * step, 10)) for i in range(top + 1)]


def _text(value: str) -> str:
    """``value`` as SVG text: escaped, characters XML cannot hold dropped."""
    return escape(_NOT_XML.sub("", value))


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


def _open(title: str, height: int = _H) -> list[str]:
    label = _text(title)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" role="img" '
        f'aria-label="{label}" class="chart">',
        f'<text x="{_LEFT}" y="20" class="chart-title">{label}</text>',
    ]


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_log: bool = False,
    y_max: float | None = None,
) -> str:
    """Lines on shared axes from 0 (``x_log``: a base-2 x axis at the points' own x values)."""
    xs = sorted({x for s in series for x, _ in s.points})
    ys = [y for s in series for _, y in s.points]
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    y_ticks = nice_ticks(y_max if y_max is not None else max(ys, default=1.0))
    y_top = y_ticks[-1] or 1.0
    if x_log:
        lo, hi = math.log2(max(min(xs, default=1), 1e-9)), math.log2(max(max(xs, default=2), 1e-9))
        span = (hi - lo) or 1.0

        def px(x: float) -> float:
            return _LEFT + (math.log2(max(x, 1e-9)) - lo) / span * plot_w

        x_ticks = xs
    else:
        x_ticks = nice_ticks(max(xs, default=1.0))
        x_top = x_ticks[-1] or 1.0

        def px(x: float) -> float:
            return _LEFT + x / x_top * plot_w

    def py(y: float) -> float:
        return _TOP + plot_h - y / y_top * plot_h

    out = _open(title)
    for t in y_ticks:
        out.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{py(t):.1f}" y2="{py(t):.1f}" '
            'class="grid"/>'
            f'<text x="{_LEFT - 6}" y="{py(t) + 4:.1f}" class="tick" text-anchor="end">'
            f"{_fmt(t)}</text>"
        )
    for t in x_ticks:
        out.append(
            f'<text x="{px(t):.1f}" y="{_TOP + plot_h + 16}" class="tick" '
            f'text-anchor="middle">{_fmt(t)}</text>'
        )
    out.append(
        f'<text x="{_LEFT + plot_w / 2:.0f}" y="{_H - 8}" class="axis" text-anchor="middle">'
        f"{_text(x_label)}</text>"
        f'<text x="14" y="{_TOP + plot_h / 2:.0f}" class="axis" text-anchor="middle" '
        f'transform="rotate(-90 14 {_TOP + plot_h / 2:.0f})">{_text(y_label)}</text>'
    )
    for n, s in enumerate(series):
        pts = sorted(s.points)
        coords: list[str] = []
        for i, (x, y) in enumerate(pts):
            if s.step and i:
                coords.append(f"{px(x):.1f},{py(pts[i - 1][1]):.1f}")
            coords.append(f"{px(x):.1f},{py(y):.1f}")
        out.append(
            f'<polyline points="{" ".join(coords)}" fill="none" stroke="{s.color}" '
            'stroke-width="2"/>'
        )
        if not s.step:
            out += [
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{s.color}"/>'
                for x, y in pts
            ]
        ly = _TOP + 14 + n * 18
        out.append(
            f'<rect x="{_W - _RIGHT + 12}" y="{ly - 9}" width="10" height="10" '
            f'fill="{s.color}"/><text x="{_W - _RIGHT + 28}" y="{ly}" class="legend">'
            f"{_text(s.name)}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(bars: Sequence[tuple[str, float, str]], *, title: str, unit: str) -> str:
    """Horizontal bars, one per ``(label, value, colour)``, the value written at each end."""
    row = 28
    height = _TOP + row * max(len(bars), 1) + 24
    left, plot_w = 130, _W - 130 - 90
    top = max((v for _, v, _ in bars), default=1.0) or 1.0
    out = _open(title, height)
    for i, (label, value, color) in enumerate(bars):
        y = _TOP + i * row
        width = value / top * plot_w
        out.append(
            f'<text x="{left - 8}" y="{y + 17}" class="tick" text-anchor="end">'
            f"{_text(label)}</text>"
            f'<rect x="{left}" y="{y + 4}" width="{width:.1f}" height="{row - 8}" '
            f'fill="{color}"/>'
            f'<text x="{left + width + 6:.1f}" y="{y + 17}" class="tick">'
            f"{_text(unit)}{value:,.2f}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)
