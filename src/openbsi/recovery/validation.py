"""Validation sweeps: injectable timing, ignition threshold, rehabilitation dose, BSI vs stim.

Each compares arms on the same patients and the same per-patient random streams (the draw
layout gives every intervention its own block), so differences are the therapy's, not noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from openbsi.recovery.simulate import simulate_cohort
from openbsi.recovery.therapies.progenitors import ProgenitorParams, Progenitors
from openbsi.recovery.types import Intervention, PatientSpec, Plan

_LEVELS = ("C5", "C6", "C7", "T4", "T8", "T10", "T12")


def cohort(
    n: int, *, ais: str, days_since_injury: float, seed: int, age_years: float = 45.0
) -> tuple[list[PatientSpec], list[int]]:
    """n patients of one grade at one time after injury, spread over levels; and their seeds."""
    rng = np.random.default_rng(seed)
    levels = rng.choice(_LEVELS, size=n)
    patients = [
        PatientSpec(f"v-{k}", str(levels[k]), ais, age_years, days_since_injury) for k in range(n)
    ]
    return patients, [seed * 100_003 + k for k in range(n)]


def _run(patients, seeds, plan: Plan, days: int):
    rngs = [np.random.default_rng(s) for s in seeds]
    return simulate_cohort(patients, plan, days=days, visit_days=[0, days], rngs=rngs)


def total_motor_gain(course) -> np.ndarray:
    total = course.scores["uems"] + course.scores["lems"]
    return total[:, -1] - total[:, 0]


def injectable_timing_sweep(
    injection_days: Sequence[float], *, n: int = 200, seed: int = 1, ais: str = "C",
    follow_days: int = 365,
) -> dict[float, float]:  # fmt: skip
    """Mean extra total motor score at 1 year over no injection, by injection day after injury."""
    patients, seeds = cohort(n, ais=ais, days_since_injury=0.0, seed=seed)
    control = total_motor_gain(_run(patients, seeds, Plan(), follow_days))
    out = {}
    for day in injection_days:
        plan = Plan((Intervention("injectable_depot", float(day)),))
        out[float(day)] = float(
            np.mean(total_motor_gain(_run(patients, seeds, plan, follow_days)) - control)
        )
    return out


def ignition_threshold_pulse(params: ProgenitorParams | None = None) -> float:
    """The pulse size (units of Progenitors.pulse_size) that just flips the switch at
    ignition sensitivity 1, found by bisection on the switch dynamics alone."""
    p = params or ProgenitorParams()

    def flips(pulse: float) -> bool:
        x = 0.0
        for k in range(120):
            shape = np.exp(-k / p.pulse_tau_days) - np.exp(-(k + 1) / p.pulse_tau_days)
            for _ in range(4):
                drift = p.switch_rate_per_day * x * (1 - x) * (x - p.switch_threshold)
                x = min(max(x + 0.25 * (drift + p.pulse_gain * pulse * shape), 0.0), 1.0)
        return x > 0.5

    low, high = 0.0, 20.0
    for _ in range(40):
        mid = 0.5 * (low + high)
        low, high = (low, mid) if flips(mid) else (mid, high)
    return high


def ignition_fraction(
    pulse_multiple: float, *, n: int = 200, seed: int = 2, days_since_injury: float = 7.0,
    reference_days: float | None = None,
) -> float:  # fmt: skip
    """Share of patients whose repair switch turns on after a graft whose pulse is
    `pulse_multiple` times the threshold (dose set through the lot potency) when grafted at
    `reference_days` after injury (default: the cohort's own time)."""
    threshold = ignition_threshold_pulse()
    therapy = Progenitors()
    dose_cells = 5e6
    unit = float(
        therapy.pulse_size(
            {"dose_cells": dose_cells, "potency": 1.0},
            np.array([days_since_injury if reference_days is None else reference_days]),
        )[0]
    )
    potency = pulse_multiple * threshold / unit
    if not 0.0 <= potency <= 1.0:
        raise ValueError(
            f"pulse multiple {pulse_multiple} needs potency {potency:.2f} outside [0, 1]"
        )
    patients, seeds = cohort(n, ais="B", days_since_injury=days_since_injury, seed=seed)
    plan = Plan((Intervention("ipsc_progenitors", 0.0, None, {"dose_cells": dose_cells,
                                                               "potency": potency}),))  # fmt: skip
    course = _run(patients, seeds, plan, 60)
    ignited = {e["patient"] for e in course.events if e["kind"] == "repair_ignited"}
    return len(ignited) / n


def rehab_dose_response(
    steps_per_session: Sequence[float], *, n: int = 200, seed: int = 3, sessions: int = 60
) -> dict[float, float]:
    """Mean extra LEMS over no training in chronic AIS C/D (12 weeks, 5 sessions a week)."""
    half = n // 2
    pc, sc = cohort(half, ais="C", days_since_injury=400.0, seed=seed)
    pd, sd = cohort(n - half, ais="D", days_since_injury=400.0, seed=seed + 1)
    patients, seeds = pc + pd, sc + sd
    days = int(np.ceil(sessions / 5 * 7))
    base = _run(patients, seeds, Plan(), days).scores["lems"]
    control = base[:, -1] - base[:, 0]
    out = {}
    for steps in steps_per_session:
        plan = Plan((Intervention("rehabilitation", 0.0, float(days),
                                  {"steps_per_session": float(steps), "sessions_per_week": 5.0,
                                   "overground_fraction": 0.0}),))  # fmt: skip
        lems = _run(patients, seeds, plan, days).scores["lems"]
        out[float(steps)] = float(np.mean(lems[:, -1] - lems[:, 0] - control))
    return out


def bsi_vs_stimulation(*, n: int = 200, seed: int = 4, weeks: int = 26) -> dict[str, float]:
    """Mean extra LEMS over rehabilitation alone: open-loop epidural vs BSI (chronic AIS C)."""
    patients, seeds = cohort(n, ais="C", days_since_injury=500.0, seed=seed)
    days = weeks * 7
    rehab = Intervention("rehabilitation", 0.0, float(days))
    arms = {
        "rehabilitation": Plan((rehab,)),
        "epidural_paddle": Plan((rehab, Intervention("epidural_paddle", 0.0, float(days)))),
        "bsi": Plan((rehab, Intervention("bsi", 0.0, float(days)))),
    }
    lems = {}
    for name, plan in arms.items():
        s = _run(patients, seeds, plan, days).scores["lems"]
        lems[name] = s[:, -1] - s[:, 0]
    return {name: float(np.mean(v - lems["rehabilitation"])) for name, v in lems.items()}
