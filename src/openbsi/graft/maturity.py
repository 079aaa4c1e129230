"""Maturity verdict against day-matched published benchmarks of iPSC-derived neurons.

No benchmark is published for day 8-12 spinal progenitors (facts.md, "Graft quality control");
the nearest published day is used and the verdict says so ("extrapolated").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
    name: str
    source: str
    day_low: float
    day_high: float
    resting_potential_mv: float | None = None  # mature: at or below (more negative)
    input_resistance_mohm: float | None = None  # mature: at or below
    capacitance_pf: float | None = None  # mature: at or above
    firing_fraction: float | None = None  # share of cells firing APs


# Forebrain iPSC neurons (facts.md, "Maturation benchmarks").
BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        "Pre2014_day31-38",
        "Prè et al. 2014 (forebrain iPSC neurons), days 31-38",
        31,
        38,
        resting_potential_mv=-35.0,
        input_resistance_mohm=2500.0,
        firing_fraction=0.20,
    ),
    Benchmark(
        "Tang2013_day42",
        "Tang et al. 2013 (iPSC neurons), day 42",
        42,
        42,
        resting_potential_mv=-44.0,
        capacitance_pf=27.0,
    ),
    Benchmark(
        "Pre2014_day55",
        "Prè et al. 2014 (forebrain iPSC neurons), day 55",
        55,
        55,
        resting_potential_mv=-49.0,
        input_resistance_mohm=1700.0,
        firing_fraction=0.60,
    ),
    Benchmark(
        "Tang2013_day60",
        "Tang et al. 2013 (iPSC neurons), day 60",
        60,
        60,
        resting_potential_mv=-59.0,
        capacitance_pf=119.0,
    ),
)


def nearest_benchmark(day: float) -> tuple[Benchmark, float]:
    """The benchmark whose day range is nearest `day`, and the distance in days (0 = inside)."""

    def distance(b: Benchmark) -> float:
        return (
            0.0
            if b.day_low <= day <= b.day_high
            else min(abs(day - b.day_low), abs(day - b.day_high))
        )

    best = min(BENCHMARKS, key=lambda b: (distance(b), b.day_low))
    return best, distance(best)


def maturity_verdict(features: dict, day: float | None) -> dict:
    """Compare the cell's properties with the day-matched benchmark, criterion by criterion."""
    if day is None:
        return {
            "verdict": None,
            "benchmark": None,
            "reason": "differentiation day not given (--day)",
        }
    bench, gap = nearest_benchmark(day)
    checks = []

    def check(name: str, value: float | None, limit: float | None, mature_if: str) -> None:
        if limit is None:
            return
        ok = None if value is None else (value <= limit if mature_if == "<=" else value >= limit)
        checks.append(
            {"name": name, "value": value, "benchmark": limit, "mature_if": mature_if, "pass": ok}
        )

    check(
        "resting_potential_mv",
        features.get("resting_potential_mv"),
        bench.resting_potential_mv,
        "<=",
    )
    check(
        "input_resistance_mohm",
        features.get("input_resistance_mohm"),
        bench.input_resistance_mohm,
        "<=",
    )
    check("capacitance_pf", features.get("capacitance_pf"), bench.capacitance_pf, ">=")
    if "fires_action_potentials" in features:
        checks.append(
            {
                "name": "fires_action_potentials",
                "value": features["fires_action_potentials"],
                "benchmark": True,
                "mature_if": "==",
                "pass": bool(features["fires_action_potentials"]),
            }
        )
    known = [c["pass"] for c in checks if c["pass"] is not None]
    if not known:
        verdict = None
    elif all(known):
        verdict = "at_or_beyond_benchmark"
    else:
        verdict = "less_mature_than_benchmark"
    return {
        "verdict": verdict,
        "benchmark": bench.name,
        "benchmark_source": bench.source,
        "day": day,
        "days_from_benchmark": gap,
        "extrapolated": gap > 0,
        "note": "no benchmark is published for day 8-12 spinal progenitors; nearest used"
        if gap > 0
        else "",
        "checks": checks,
    }
