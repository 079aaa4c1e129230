"""I-MR control charts and out-of-trend rules across lots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openbsi.graft.trend import imr_chart, plot_trend, trend_report


def test_limits_from_moving_range() -> None:
    values = [10.0, 12.0, 11.0, 13.0, 12.0]
    chart = imr_chart(values)
    mr_mean = np.mean([2, 1, 2, 1])
    assert chart["mean"] == pytest.approx(11.6)
    assert chart["ucl"] == pytest.approx(11.6 + 3 * mr_mean / 1.128)
    assert chart["mr_ucl"] == pytest.approx(3.267 * mr_mean)
    assert chart["cv"] == pytest.approx(np.std(values, ddof=1) / 11.6)
    assert chart["signals"] == []


def test_rules_fire() -> None:
    rng = np.random.default_rng(0)
    stable = list(0.95 + rng.normal(0, 0.005, 20))
    outlier = [*stable[:10], 0.80, *stable[10:]]
    rules = {s["rule"] for s in imr_chart(outlier)["signals"]}
    assert "beyond_3_sigma" in rules and "moving_range_above_limit" in rules
    drift = [0.90 + 0.004 * k for k in range(8)]
    assert "6_trending" in {s["rule"] for s in imr_chart(drift)["signals"]}
    shifted = [*([1.0] * 3), *(1.2 + 0.01 * np.sin(np.arange(10)))]
    assert "9_on_one_side" in {s["rule"] for s in imr_chart(list(shifted))["signals"]}


def test_missing_values_and_short_series() -> None:
    chart = imr_chart([None, 1.0])
    assert chart["n"] == 1 and chart["mean"] is None  # not computable: null, not 0
    chart = imr_chart([1.0, None, 1.2, 1.1])
    assert chart["n"] == 3 and chart["mean"] == pytest.approx(1.1)


def test_report_names_lots_and_figure(tmp_path: Path) -> None:
    lots = [f"L{k}" for k in range(12)]
    purity = [0.95, 0.951, 0.949, 0.952, 0.948, 0.95, 0.951, 0.80, 0.95, 0.949, 0.951, 0.95]
    table = {
        "lots": lots,
        "values": {"SOX1_flow": purity, "endotoxin": [0.5] * 12},
        "spec_version": "1.0.0",
    }
    report = trend_report(table)
    assert "L7" in report["out_of_trend"]
    assert report["attributes"]["endotoxin"]["cv"] == 0.0
    figure = plot_trend(table, report, tmp_path / "trend.png")
    assert figure.stat().st_size > 10_000
