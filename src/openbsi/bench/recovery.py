"""`openbsi bench recovery`: one 52-week course and a 12-month cohort, timed."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np


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
        simulate_cohort([spec], plan, days=364, visit_days=visits, rngs=[np.random.default_rng(0)])
        wall, cpu = [], []
        for k in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            simulate_cohort([spec], plan, days=364, visit_days=visits,
                            rngs=[np.random.default_rng(k)])  # fmt: skip
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        single[name] = {"median_ms": 1e3 * float(np.median(wall)),
                        "median_cpu_ms": 1e3 * float(np.median(cpu)), "bar_ms": 50.0,
                        "passes": bool(np.median(wall) <= 0.05)}  # fmt: skip
    patients = sample_patients(n, np.random.default_rng(1))
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(2).spawn(n)]
    t0, c0 = time.perf_counter(), time.process_time()
    simulate_cohort(patients, Plan(), days=365, visit_days=[0, 182, 365], rngs=rngs)
    wall_c, cpu_c = time.perf_counter() - t0, time.process_time() - c0
    load = os.getloadavg()
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
        "load_average_1_5_15": list(load),
        "cpus": os.cpu_count(),
    }
    return result
