"""`openbsi bench trial`: patients x 2 arms x months, serial and on Ray with 1 and 2 workers."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openbsi.bench.common import load_average

_PROTOCOL = """\
name: bench-trial
seed: 7
duration_days: {days}
design: {{kind: parallel}}
population:
  ais: [A, B, C, D]
  nli_from: C1
  nli_to: S5
  age_years: [0, 110]
  days_since_injury: [0, 36500]
enrolment: {{n: {n}, max_screened: {screen}}}
dropout: {{fraction: 0.05}}
arms:
  - name: stimulation
    interventions:
      - {{therapy: rehabilitation, start_day: 0, end_day: {days}, dose: {{sessions_per_week: 4}}}}
      - {{therapy: epidural_paddle, start_day: 0, end_day: {days}, dose: {{sessions_per_week: 4}}}}
  - name: rehabilitation
    interventions:
      - {{therapy: rehabilitation, start_day: 0, end_day: {days}, dose: {{sessions_per_week: 4}}}}
visits: [{visits}]
assessments: [uems, lems, tenmwt_m_s, sixmwt_m, wisci, scim, ais]
endpoints:
  - {{name: wisci_2_levels, measure: wisci, mcid: 2, from_day: 0, to_day: {days}}}
primary: wisci_2_levels
success:
  {{rule: difference_lower_ci_above, threshold: 0.0, arm: stimulation, versus: rehabilitation}}
"""


def bench_protocol(patients: int, months: int):
    from openbsi.trials.protocol import parse_protocol

    days = round(months * 365.25 / 12)
    visits = sorted({0, days, *(round(m * 365.25 / 12) for m in range(1, months))})
    text = _PROTOCOL.format(
        days=days, n=patients, screen=100 * patients, visits=", ".join(map(str, visits))
    )
    return parse_protocol(text.encode(), source="bench-trial")


def bench(
    patients: int,
    months: int,
    *,
    ray_workers: list[int],
    batch_size: int = 500,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Wall time and patient-weeks/s of the simulation, the whole run, and Ray per worker count."""
    from openbsi.trials.results import results_table, write_results
    from openbsi.trials.run import simulate_trial, summarise
    from openbsi.trials.runners import RayRunner, SerialRunner, init_ray

    say = progress or (lambda _msg: None)
    protocol = bench_protocol(patients, months)
    weeks = patients * 2 * protocol.duration_days / 7
    out: dict[str, Any] = {
        "patients_per_arm": patients,
        "arms": 2,
        "months": months,
        "days": protocol.duration_days,
        "batch_size": batch_size,
        "cpus": os.cpu_count(),
        "load_before": load_average(),
        "patient_weeks": round(weeks),
    }
    say(f"serial: {patients} patients x 2 arms x {months} months ...")
    start = time.perf_counter()
    cohort, courses = simulate_trial(protocol, runner=SerialRunner(), batch_size=batch_size)
    simulated = time.perf_counter() - start
    summary = summarise(protocol, cohort, courses, longitudinal=False)
    with tempfile.TemporaryDirectory() as folder:
        write_results(Path(folder) / "results.parquet", results_table(protocol, cohort, courses))
    total = time.perf_counter() - start
    out["serial"] = {
        "simulate_s": round(simulated, 3),
        "total_s": round(total, 3),  # + summary and results.parquet
        "patient_weeks_per_s": round(weeks / simulated),
        "bar_s": 60.0,
        "meets_bar": total <= 60.0,
    }
    if ray_workers:
        start = time.perf_counter()
        init_ray("auto", workers=max(ray_workers))
        warm = bench_protocol(4 * max(ray_workers), 1)  # start the workers before timing
        simulate_trial(warm, runner=RayRunner("auto", workers=max(ray_workers)), batch_size=2)
        out["ray_startup_s"] = round(time.perf_counter() - start, 3)
        for w in ray_workers:
            say(f"ray: {w} worker(s) ...")
            runner = RayRunner("auto", workers=w)
            start = time.perf_counter()
            c2, k2 = simulate_trial(protocol, runner=runner, batch_size=batch_size)
            wall = time.perf_counter() - start
            same = summarise(protocol, c2, k2, longitudinal=False) == summary
            out[f"ray_{w}"] = {
                "simulate_s": round(wall, 3),
                "patient_weeks_per_s": round(weeks / wall),
                "summary_identical_to_serial": same,
            }
    out["load_after"] = load_average()
    return out
