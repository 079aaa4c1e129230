"""`openbsi bench recovery`: one 52-week course and a 12-month cohort, timed."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from openbsi.bench.common import load_average, repeat_timed


def bench_recovery(n: int = 10_000, repeats: int = 20) -> dict[str, Any]:
    """Speed: one 52-week course (bar <= 50 ms) and n patients x 12 months (bar <= 10 s)."""
    from openbsi.recovery import Intervention, PatientSpec, Plan, simulate_cohort
    from openbsi.recovery.natural_history import sample_patients

    spec = PatientSpec("bench", "T8", "C", 40.0, 28.0)
    plans = {
        "natural_history": Plan(),
        "rehab_plus_bsi": Plan(
            (Intervention("rehabilitation", 0.0, 364.0), Intervention("bsi", 56.0, 224.0))
        ),
    }
    visits = list(range(0, 365, 28))
    single: dict[str, Any] = {}
    for name, plan in plans.items():
        seeds = iter([0, *range(repeats)])  # the warm-up course, then one seed per repeat

        def course(plan: Plan = plan, seeds=seeds) -> None:
            simulate_cohort([spec], plan, days=364, visit_days=visits,
                            rngs=[np.random.default_rng(next(seeds))])  # fmt: skip

        times = repeat_timed(course, repeats)
        wall = float(np.median(times["wall_s"]))
        single[name] = {"median_ms": 1e3 * wall,
                        "median_cpu_ms": 1e3 * float(np.median(times["cpu_s"])), "bar_ms": 50.0,
                        "passes": bool(wall <= 0.05)}  # fmt: skip
    patients = sample_patients(n, np.random.default_rng(1))
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(2).spawn(n)]
    cohort = repeat_timed(
        lambda: simulate_cohort(patients, Plan(), days=365, visit_days=[0, 182, 365], rngs=rngs),
        1,
        warm=False,
    )
    wall_c, cpu_c = cohort["wall_s"][0], cohort["cpu_s"][0]
    result = {
        "single_course_52_weeks": single,
        "cohort": {
            "n": n,
            "months": 12,
            "seconds": wall_c,
            "cpu_seconds": cpu_c,
            "bar_s": 10.0,
            "passes": bool(wall_c <= 10.0),
        },
        "load_average_1_5_15": load_average(),
        "cpus": os.cpu_count(),
    }
    return result
