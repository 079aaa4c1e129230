"""Interval estimates used by the trial analysis (array functions, no trial knowledge)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

Z95 = 1.959963984540054


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float] | None:
    """Exact binomial interval for k successes in n; None when n == 0."""
    if n == 0:
        return None
    alpha = 1.0 - level
    lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return centre - half, centre + half


def mean_ci(values: np.ndarray) -> tuple[float | None, tuple[float, float] | None]:
    """Mean and t-interval of the finite values; (None, None) if none, interval None if one."""
    x = values[np.isfinite(values)]
    if x.size == 0:
        return None, None
    mean = float(x.mean())
    if x.size < 2:
        return mean, None
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, x.size - 1)) * sd / math.sqrt(x.size)
    return mean, (mean - half, mean + half)


def welch_difference(a: np.ndarray, b: np.ndarray) -> tuple[float | None, tuple | None]:
    """Difference of means a - b with Welch's interval (independent groups)."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        return None, None
    d = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return d, (d, d)
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.975, dof)) * se
    return d, (d - half, d + half)


def newcombe_unpaired(k1: int, n1: int, k2: int, n2: int) -> tuple[float, tuple] | None:
    """p1 - p2 with Newcombe's hybrid score interval (Newcombe 1998, method 10)."""
    if n1 == 0 or n2 == 0:
        return None
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, (lo, hi)


def newcombe_paired(x1: np.ndarray, x2: np.ndarray) -> tuple[float, tuple] | None:
    """p1 - p2 for paired binary outcomes with Newcombe's paired score interval (1998b, method
    10, no continuity correction)."""
    n = int(x1.size)
    if n == 0:
        return None
    a = int(np.sum(x1 & x2))
    b = int(np.sum(x1 & ~x2))
    c = int(np.sum(~x1 & x2))
    d_ = n - a - b - c
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n)
    l2, u2 = wilson(a + c, n)
    denom = (a + b) * (c + d_) * (a + c) * (b + d_)
    phi = (a * d_ - b * c) / math.sqrt(denom) if denom > 0 else 0.0
    diff = p1 - p2
    dl = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    du = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return diff, (max(-1.0, diff - dl), min(1.0, diff + du))
