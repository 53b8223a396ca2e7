"""Summary statistics against hand-computed figures."""

from __future__ import annotations

import math

import pytest

from clinic.outcomes import stats


def test_mean_and_95_ci_of_three_changes():
    # changes 10, 20, 30: mean 20, SD 10, SE 10/√3 = 5.774, t(2) = 4.303 → ± 24.84
    ci = stats.mean_ci(3, 60, 100 + 400 + 900)
    assert ci.n == 3 and ci.mean == 20
    assert ci.low == pytest.approx(20 - 24.844, abs=0.01)
    assert ci.high == pytest.approx(20 + 24.844, abs=0.01)


def test_mean_and_ci_of_five_changes_with_a_worse_one():
    # 10, 20, 30, -5, 0: Σ 55, Σx² 1425, var (1425 − 605) / 4 = 205, t(4) = 2.776
    ci = stats.mean_ci(5, 55, 1425)
    half = 2.776 * math.sqrt(205 / 5)
    assert ci.mean == 11
    assert (ci.low, ci.high) == (pytest.approx(11 - half), pytest.approx(11 + half))


def test_one_value_has_no_interval_and_none_has_no_mean():
    assert stats.mean_ci(1, 7, 49) == stats.MeanCI(1, 7, None, None)
    assert stats.mean_ci(0, 0, 0) is None


def test_t_quantiles_from_table_and_beyond():
    assert stats.t_975(1) == 12.706 and stats.t_975(30) == 2.042
    assert stats.t_975(40) == pytest.approx(2.021, abs=0.001)
    assert stats.t_975(120) == pytest.approx(1.980, abs=0.001)
    with pytest.raises(ValueError):
        stats.t_975(0)


def test_share_and_small_cell_edges():
    assert stats.share(3, 5) == 60 and stats.share(1, 0) is None
    assert [stats.suppressed(n, 5) for n in (0, 1, 4, 5, 6)] == [False, True, True, False, False]
