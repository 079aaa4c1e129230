"""Interval estimates: exact values, agreement with statsmodels, and simulated coverage."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from openbsi.trials.stats import clopper_pearson, mean_ci, newcombe_paired, newcombe_unpaired


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (31, 65), (1, 1)])
def test_clopper_pearson_matches_statsmodels_beta(k: int, n: int) -> None:
    lo, hi = clopper_pearson(k, n)
    ref = proportion_confint(k, n, alpha=0.05, method="beta")
    assert lo == pytest.approx(ref[0], abs=1e-12)
    assert hi == pytest.approx(ref[1], abs=1e-12)


def test_clopper_pearson_of_nothing_is_null() -> None:
    assert clopper_pearson(0, 0) is None


def test_clopper_pearson_zero_successes_closed_form() -> None:
    lo, hi = clopper_pearson(0, 20)
    assert lo == 0.0
    assert hi == pytest.approx(1 - 0.025 ** (1 / 20), rel=1e-9)


def test_newcombe_unpaired_published_example() -> None:
    # Newcombe 1998 (Stat Med 17:873), example 56/70 vs 48/80: method 10 gives 0.0524 to 0.3339
    d, (lo, hi) = newcombe_unpaired(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert lo == pytest.approx(0.0524, abs=5e-4)
    assert hi == pytest.approx(0.3339, abs=5e-4)


def test_newcombe_paired_coverage_is_near_nominal() -> None:
    rng = np.random.default_rng(0)
    n, hits, reps = 60, 0, 400
    p1, p2 = 0.55, 0.35
    for _ in range(reps):
        u = rng.random(n)
        x1 = u < p1
        x2 = (u < p2) | ((rng.random(n) < 0.05) & ~x1)  # correlated pairs
        true = p1 - (p2 + 0.05 * (1 - p1))
        _, (lo, hi) = newcombe_paired(x1, x2)
        hits += lo <= true <= hi
    assert 0.90 <= hits / reps <= 0.99


def test_paired_interval_narrower_than_unpaired_for_correlated_pairs() -> None:
    rng = np.random.default_rng(1)
    u = rng.random(200)
    x1, x2 = u < 0.6, u < 0.5
    _, (lo_p, hi_p) = newcombe_paired(x1, x2)
    _, (lo_u, hi_u) = newcombe_unpaired(int(x1.sum()), 200, int(x2.sum()), 200)
    assert hi_p - lo_p < hi_u - lo_u


def test_mean_ci_nulls() -> None:
    assert mean_ci(np.array([np.nan])) == (None, None)
    mean, ci = mean_ci(np.array([2.0]))
    assert mean == 2.0 and ci is None
