"""Server-drawn SVG line charts of scores against baseline (no scripts needed)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from clinic.outcomes.services import InstrumentProgress

# A narrow drawing (400 units) with 18-unit labels: at 375 px the chart is about 320 px wide,
# so labels stay near 14 px; on wide screens the stylesheet caps it at 480 px.
WIDTH, HEIGHT, PAD_X, PAD_Y = 400, 230, 44, 26
UNITS = {"weeks": "wk", "week": "wk", "months": "mo", "month": "mo", "days": "d", "day": "d"}


def short_label(timepoint: str) -> str:
    """A time point short enough to sit under its point: "3 months" -> "3 mo"."""
    if timepoint == "baseline":
        return "Start"
    number, _, unit = timepoint.partition(" ")
    return f"{number} {UNITS[unit]}" if unit in UNITS else timepoint


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    label: str
    score: Decimal
    important: bool


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: tuple[ChartPoint, ...]
    polyline: str
    threshold_y: float | None
    baseline_y: float | None
    y_ticks: tuple[tuple[float, str], ...]


def _y(value: Decimal, lo: int, hi: int) -> float:
    span = (hi - lo) or 1
    return round(PAD_Y + (HEIGHT - 2 * PAD_Y) * (1 - (float(value) - lo) / span), 1)


def build_chart(progress: InstrumentProgress) -> Chart | None:
    """Coordinates for one instrument's scores; None when there is nothing to draw."""
    inst = progress.instrument
    if not progress.points:
        return None
    n = len(progress.points)
    step = (WIDTH - 2 * PAD_X) / max(n - 1, 1)
    points = tuple(
        ChartPoint(
            x=round(PAD_X + i * step if n > 1 else WIDTH / 2, 1),
            y=_y(p.score, inst.min, inst.max),
            label=short_label(p.timepoint),
            score=p.score,
            important=bool(p.change and p.change.important) or bool(p.responder),
        )
        for i, p in enumerate(progress.points)
    )
    threshold = progress.threshold
    ticks = tuple(
        (_y(Decimal(v), inst.min, inst.max), str(v))
        for v in (inst.min, (inst.min + inst.max) // 2, inst.max)
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        points=points,
        polyline=" ".join(f"{p.x},{p.y}" for p in points),
        threshold_y=None if threshold is None else _y(threshold, inst.min, inst.max),
        baseline_y=None
        if progress.baseline is None
        else _y(progress.baseline.score, inst.min, inst.max),
        y_ticks=ticks,
    )
