"""Power by simulation, and sensitivity of the result to the assumption-graded parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from openbsi.recovery import therapy_parameters
from openbsi.trials.analysis import analyse, rounded, success
from openbsi.trials.cohort import build_cohort
from openbsi.trials.protocol import Protocol
from openbsi.trials.runners import Runner, SerialRunner
from openbsi.trials.simulate import SimulateFn, assemble, make_tasks
from openbsi.trials.stats import clopper_pearson


def _verdict(protocol: Protocol, cohort, courses) -> dict[str, Any]:
    body = analyse(protocol, cohort, courses)
    return success(protocol, body)


def power_curve(
    protocol: Protocol,
    ns: Sequence[int],
    *,
    trials: int = 100,
    runner: Runner | None = None,
    batch_size: int = 64,
    simulate: SimulateFn | None = None,
) -> dict[str, Any]:
    """P(primary endpoint met) per enrolment size, from `trials` simulated trials each.

    Trial r of size index j uses cohort/course streams of trial number 1 + j * trials + r, so
    every simulated trial has its own patients (trial 0 is the protocol's main run).
    """
    runner = runner or SerialRunner()
    plans = []
    tasks = []
    for j, n in enumerate(ns):
        for r in range(trials):
            t = 1 + j * trials + r
            cohort = build_cohort(protocol, t, n=n)
            plans.append((j, t, cohort))
            tasks += make_tasks(protocol, t, cohort.patients, batch_size=batch_size)
    results = runner.run(tasks, simulate=simulate)
    met = np.zeros((len(ns), trials), dtype=bool)
    for j, t, cohort in plans:
        courses = assemble(
            protocol, t, cohort.n_enrolled, cohort.dropout_day, results, batch_size=batch_size
        )
        met[j, (t - 1) % trials] = bool(_verdict(protocol, cohort, courses).get("met"))
    power = met.mean(axis=1)
    intervals = [clopper_pearson(int(k), trials) for k in met.sum(axis=1)]
    return rounded(
        {
            "n": [int(n) for n in ns],
            "power": [float(p) for p in power],
            "ci95": [list(ci) if ci else None for ci in intervals],
            "trials_per_n": trials,
            "rule": protocol.success.rule,
            "threshold": protocol.success.threshold,
            "primary": protocol.primary,
        }
    )


def assumption_parameters(protocol: Protocol) -> list[tuple[str, Any]]:
    """(override name, info) of each assumption-graded parameter of the arms' therapies."""
    therapies = sorted({iv.therapy for a in protocol.arms for iv in a.plan.interventions})
    out = []
    for therapy in therapies:
        for info in therapy_parameters(therapy):
            if info.grade == "assumption" and info.low < info.high:
                name = (
                    info.name if info.name.startswith(f"{therapy}.") else f"{therapy}.{info.name}"
                )
                out.append((name, info))
    return out


def sensitivity(
    protocol: Protocol,
    base: dict[str, Any],
    *,
    runner: Runner | None = None,
    batch_size: int = 64,
    simulate: SimulateFn | None = None,
    max_parameters: int = 16,
) -> dict[str, Any]:
    """Tornado: the primary result (success-rule estimate) at each assumption's low and high.

    Each parameter is moved alone (others at their values) on the main trial's patients and
    seeds, so the swing is the parameter's own effect. `flips` says whether the verdict changes.
    """
    from openbsi.trials.run import simulate_trial

    runner = runner or SerialRunner()
    rows = []
    params = assumption_parameters(protocol)
    for name, info in params[:max_parameters]:
        values = {}
        for side, value in (("low", info.low), ("high", info.high)):
            cohort, courses = simulate_trial(
                protocol,
                runner=runner,
                batch_size=batch_size,
                overrides={name: value},
                simulate=simulate,
            )
            values[side] = _verdict(protocol, cohort, courses)
        est_lo, est_hi = values["low"].get("estimate"), values["high"].get("estimate")
        swing = None if est_lo is None or est_hi is None else abs(est_hi - est_lo)
        rows.append(
            {
                "parameter": name,
                "unit": info.unit,
                "value": info.value,
                "low": info.low,
                "high": info.high,
                "source": info.source,
                "estimate_low": est_lo,
                "estimate_high": est_hi,
                "swing": swing,
                "met_low": values["low"].get("met"),
                "met_high": values["high"].get("met"),
                "flips": values["low"].get("met") != base.get("met")
                or values["high"].get("met") != base.get("met"),
            }
        )
    rows.sort(key=lambda r: -(r["swing"] or 0.0))
    return rounded(
        {
            "metric": f"{protocol.success.rule} estimate of '{protocol.primary}'",
            "base_estimate": base.get("estimate"),
            "base_met": base.get("met"),
            "n_assumption_parameters": len(params),
            "parameters": rows,
            "conclusion_depends_on": [r["parameter"] for r in rows if r["flips"]],
        }
    )
