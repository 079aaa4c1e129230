"""The helpers every benchmark shares (openbsi.bench.common)."""

from __future__ import annotations

import math

import pytest

from openbsi.bench.common import load_average, ratio, repeat_timed, summary


def test_summary_scales_and_names_keys_by_unit() -> None:
    s = summary([0.001, 0.002, 0.003], unit="_ms", scale=1e3)
    assert set(s) == {"p50_ms", "p99_ms", "max_ms"}
    assert s["p50_ms"] == pytest.approx(2.0)
    assert s["max_ms"] == pytest.approx(3.0)
    assert s["p50_ms"] <= s["p99_ms"] <= s["max_ms"]


def test_summary_without_samples_is_null_not_zero_or_nan() -> None:
    assert summary([]) == {"p50": None, "p99": None, "max": None}


def test_summary_rounds_when_asked() -> None:
    assert summary([1.23456789], digits=2)["p50"] == 1.23


def test_ratio_is_null_when_it_cannot_be_computed() -> None:
    assert ratio(3.0, 2.0) == pytest.approx(1.5)
    assert ratio(1.0, 0.0) is None
    assert ratio(None, 2.0) is None
    assert ratio(2.0, None) is None
    assert ratio(math.inf, 1.0) is None


def test_repeat_timed_warms_once_then_times_each_call() -> None:
    calls: list[int] = []
    times = repeat_timed(lambda: calls.append(1), 3)
    assert len(calls) == 4  # one warm-up + three timed
    assert len(times["wall_s"]) == len(times["cpu_s"]) == 3
    assert all(t >= 0 for t in times["wall_s"])
    calls.clear()
    repeat_timed(lambda: calls.append(1), 2, warm=False)
    assert len(calls) == 2
    with pytest.raises(ValueError, match="repeats"):
        repeat_timed(lambda: None, 0)


def test_load_average_is_three_rounded_figures() -> None:
    load = load_average()
    assert len(load) == 3
    assert all(v >= 0 and round(v, 2) == v for v in load)
