"""Summary statistics from SQL aggregates (count, sum, sum of squares): pure functions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

# Two-sided 95 % Student t quantiles (0.975) for 1–30 degrees of freedom.
T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_975(df: int) -> float:
    """The 97.5th percentile of Student's t (Cornish-Fisher beyond the table; error < 0.001)."""
    if df < 1:
        raise ValueError("needs at least one degree of freedom")
    if df <= len(T_975):
        return T_975[df - 1]
    z = NormalDist().inv_cdf(0.975)
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True)
class MeanCI:
    n: int
    mean: float
    low: float | None  # None with a single value: no interval
    high: float | None


def mean_ci(n: int, total: float, total_sq: float) -> MeanCI | None:
    """Mean with a 95 % confidence interval (t distribution) from n, Σx and Σx²."""
    if n == 0:
        return None
    mean = total / n
    if n == 1:
        return MeanCI(1, mean, None, None)
    variance = max((total_sq - total * total / n) / (n - 1), 0.0)
    half = t_975(n - 1) * math.sqrt(variance / n)
    return MeanCI(n, mean, mean - half, mean + half)


def share(part: int, whole: int) -> float | None:
    """part ÷ whole as a percentage, None when there is nothing to divide by."""
    return None if whole == 0 else 100.0 * part / whole


def suppressed(count: int, min_cell: int) -> bool:
    """Counts from 1 to min_cell − 1 are hidden so no small group can be recognised."""
    return 0 < count < min_cell
