"""The revenue pages' charts as SVG geometry, drawn by the templates (no JavaScript, no CDN).

Like the monitors' latency chart: Python computes coordinates in a fixed viewBox, the template
writes `<polyline>`, `<polygon>` and `<rect>` elements, CSS colours them (light and dark), and
every bar and point carries a `<title>` with its figure. Text stays in HTML around the chart,
so it keeps a readable size when the SVG shrinks to a phone's width.

The MRR chart's titles write each month's figures as the movement table shows them (rounded
together by `rounding.month_bridge`, so a bar's title and its table cell never differ by a
cent); the geometry uses the exact figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from founderops.reports.revenue import MonthRow
from founderops.reports.revenue_text import MINUS, dollars
from founderops.revenue import rounding
from founderops.revenue.forecast import Forecast

WIDTH = 720
LINE_TOP, LINE_BOTTOM = 8.0, 170.0
BARS_TOP, BARS_BOTTOM = 186.0, 292.0
HEIGHT = 300
BAR_SHARE = 0.62
UP = ("new", "expansion", "reactivation")
DOWN = ("contraction", "churn")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str
    title: str
    url: str
    partial: bool


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class MrrChart:
    width: int
    height: int
    line: str
    area: str
    dots: list[Dot]
    bars: list[Bar]
    zero: float
    top: Fraction
    first: date
    last: date


def _slot(count: int) -> float:
    return WIDTH / max(count, 1)


def _y(value: float, top: float, low: float, high: float) -> float:
    """`value` of [0, top] placed between pixel rows `high` (top) and `low` (zero)."""
    return low - (value / top) * (low - high) if top else low


def mrr_chart(rows: Sequence[MonthRow], link: Callable[[date, str], str]) -> MrrChart:
    """MRR at each month's end as a line, the month's movements as bars under it (gains
    up, losses down, FX on whichever side it falls)."""
    slot = _slot(len(rows))
    top = max((row.end for row in rows), default=Fraction(0)) * Fraction(11, 10)
    centres = [slot * (index + 0.5) for index in range(len(rows))]
    heights = [_y(float(row.end), float(top), LINE_BOTTOM, LINE_TOP) for row in rows]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(centres, heights, strict=True))
    area = (
        f"{centres[0]:.1f},{LINE_BOTTOM} {points} {centres[-1]:.1f},{LINE_BOTTOM}" if rows else ""
    )
    dots = [
        Dot(x, y, f"{row.month:%b %Y}{' (to date)' if row.partial else ''}: MRR {dollars(end)}")
        for x, y, row, end in zip(
            centres, heights, rows, (_shown(row).end for row in rows), strict=True
        )
    ]
    bars, zero = movement_bars(rows, slot, link)
    return MrrChart(
        WIDTH,
        HEIGHT,
        points,
        area,
        dots,
        bars,
        zero,
        top,
        rows[0].month if rows else date.min,
        rows[-1].month if rows else date.min,
    )


# (kind, exact amount for the geometry, whole cents as the movement table shows it)
Part = tuple[str, Fraction, int]


def _shown(row: MonthRow) -> rounding.Bridge:
    """The month's figures in whole cents, as the movement table and drill-downs show them."""
    return rounding.month_bridge(row.start, row.moves, row.fx)


def _stacks(row: MonthRow) -> tuple[list[Part], list[Part]]:
    shown = _shown(row)
    gains = [(kind, row.moves[kind], shown.moves[kind]) for kind in UP]
    losses = [(kind, row.moves[kind], shown.moves[kind]) for kind in DOWN]
    (gains if row.fx >= 0 else losses).append(("fx", abs(row.fx), abs(shown.fx)))
    return gains, losses


def movement_bars(
    rows: Sequence[MonthRow], slot: float, link: Callable[[date, str], str]
) -> tuple[list[Bar], float]:
    stacks = [_stacks(row) for row in rows]
    rise = max((sum(v for _, v, _ in up) for up, _ in stacks), default=Fraction(0))
    fall = max((sum(v for _, v, _ in down) for _, down in stacks), default=Fraction(0))
    span = float(rise + fall) or 1.0
    scale = (BARS_BOTTOM - BARS_TOP) / span
    zero = BARS_TOP + float(rise) * scale
    bars = []
    for index, (row, (gains, losses)) in enumerate(zip(rows, stacks, strict=True)):
        left = slot * index + slot * (1 - BAR_SHARE) / 2
        bars += _stack(row, gains, left, slot * BAR_SHARE, zero, -scale, link)
        bars += _stack(row, losses, left, slot * BAR_SHARE, zero, scale, link)
    return bars, zero


def _stack(
    row: MonthRow,
    parts: list[Part],
    left: float,
    width: float,
    zero: float,
    scale: float,
    link: Callable[[date, str], str],
) -> list[Bar]:
    """Bars piled from the zero line, upwards (scale < 0) or downwards."""
    out, edge = [], zero
    for kind, value, cents in parts:
        if value <= 0:
            continue
        height = float(value) * abs(scale)
        y = edge - height if scale < 0 else edge
        edge = y if scale < 0 else edge + height
        sign = "+" if scale < 0 else MINUS
        title = f"{row.month:%b %Y} · {kind} {sign}{dollars(cents)}"
        out.append(
            Bar(left, y, width, max(height, 0.5), kind, title, link(row.month, kind), row.partial)
        )
    return out


# --- the forecast -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastChart:
    width: int
    height: int
    history: str
    median: str
    band80: str
    band95: str
    dots: list[Dot]
    top: float
    first: date
    last: date
    split: float


def forecast_chart(rows: Sequence[MonthRow], ahead: Forecast) -> ForecastChart:
    """Complete months' MRR, then the forecast's median with its 80 and 95 % bands."""
    points = ahead.points
    count = len(rows) + len(points)
    slot = _slot(count)
    top = max([float(r.end) for r in rows] + [p.high95 for p in points]) * 1.05

    def at(index: int, value: float) -> str:
        return f"{slot * (index + 0.5):.1f},{_y(value, top, HEIGHT - 8, 8):.1f}"

    past = [at(i, float(row.end)) for i, row in enumerate(rows)]
    start = len(rows)
    joint = [past[-1]] if past else []
    ahead_at = [start + i for i in range(len(points))]
    median = joint + [at(i, p.mrr) for i, p in zip(ahead_at, points, strict=True)]
    dots = [
        Dot(
            slot * (i + 0.5),
            _y(p.mrr, top, HEIGHT - 8, 8),
            f"{p.month:%b %Y}: {dollars(p.mrr)} (80 %: {dollars(p.low80)} to {dollars(p.high80)};"
            f" 95 %: {dollars(p.low95)} to {dollars(p.high95)})",
        )
        for i, p in zip(ahead_at, points, strict=True)
    ]
    return ForecastChart(
        WIDTH,
        HEIGHT,
        " ".join(past),
        " ".join(median),
        _band(
            joint,
            [at(i, p.high80) for i, p in zip(ahead_at, points, strict=True)],
            [at(i, p.low80) for i, p in zip(ahead_at, points, strict=True)],
        ),
        _band(
            joint,
            [at(i, p.high95) for i, p in zip(ahead_at, points, strict=True)],
            [at(i, p.low95) for i, p in zip(ahead_at, points, strict=True)],
        ),
        dots,
        top,
        rows[0].month if rows else points[0].month,
        points[-1].month,
        slot * (start - 0.5) if rows else 0.0,
    )


def _band(joint: list[str], upper: list[str], lower: list[str]) -> str:
    """A polygon from the last actual month along the upper bound and back along the lower."""
    return " ".join(joint + upper + lower[::-1])
