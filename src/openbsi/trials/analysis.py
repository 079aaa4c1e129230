"""The trial's analysis: responders, change from baseline, comparisons, safety, mixed model.

Two views of one simulated trial:
- the trial as run: each patient counts in the arm (or crossover sequence) it was randomised to;
- the paired in-silico view: every enrolled patient simulated in every arm (what no real trial
  can have), giving a within-patient difference between plans.
A figure that cannot be computed is None (null), never 0.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from itertools import combinations
from typing import Any

import numpy as np

from openbsi.trials.cohort import Cohort
from openbsi.trials.protocol import Endpoint, Protocol
from openbsi.trials.simulate import ArmCourses
from openbsi.trials.stats import (
    clopper_pearson,
    mean_ci,
    newcombe_paired,
    newcombe_unpaired,
    welch_difference,
)

# Assumption (common convention in SCI walking trials): a patient who cannot walk the test
# scores 0 (m/s, m) rather than missing, so gaining walking counts as a gain.
ZERO_IF_UNABLE = ("tenmwt_m_s", "sixmwt_m")
SERIOUS = ("serious", "severe", "life_threatening", "death")


def _visit(protocol: Protocol, day: float) -> int:
    return protocol.visits.index(round(day))


def measure_values(protocol: Protocol, courses: ArmCourses, measure: str) -> np.ndarray:
    """(n, n_visits) scores; unable-to-walk -> 0 on observed visits; dropped visits nan."""
    values = courses.scores[measure]
    if measure in ZERO_IF_UNABLE:
        values = np.where(courses.observed & ~np.isfinite(values), 0.0, values)
    return values


def endpoint_outcome(
    protocol: Protocol, courses: ArmCourses, endpoint: Endpoint, offset_days: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(responder, analysable) boolean arrays over the cohort for one endpoint."""
    if endpoint.all_of:
        parts = [
            endpoint_outcome(protocol, courses, protocol.endpoint(p), offset_days)
            for p in endpoint.all_of
        ]
        responder = np.logical_and.reduce([r for r, _ in parts])
        analysable = np.logical_and.reduce([a for _, a in parts])
        return responder & analysable, analysable
    values = measure_values(protocol, courses, endpoint.measure)
    start = values[:, _visit(protocol, endpoint.from_day + offset_days)]
    stop = values[:, _visit(protocol, endpoint.to_day + offset_days)]
    delta = stop - start
    analysable = np.isfinite(delta)
    return analysable & (np.nan_to_num(delta, nan=-np.inf) >= endpoint.mcid), analysable


def change(
    protocol: Protocol, courses: ArmCourses, measure: str, start_day: float, stop_day: float
) -> np.ndarray:
    values = measure_values(protocol, courses, measure)
    return values[:, _visit(protocol, stop_day)] - values[:, _visit(protocol, start_day)]


def _rate(responder: np.ndarray, analysable: np.ndarray) -> dict[str, Any]:
    k, n = int(np.sum(responder & analysable)), int(np.sum(analysable))
    ci = clopper_pearson(k, n)
    return {"k": k, "n": n, "rate": k / n if n else None, "ci95": list(ci) if ci else None}


def _mean(values: np.ndarray) -> dict[str, Any]:
    mean, ci = mean_ci(values)
    return {"mean": mean, "n": int(np.isfinite(values).sum()), "ci95": list(ci) if ci else None}


def _window(protocol: Protocol, period: int = 0) -> tuple[float, float]:
    """Days the change is counted over (crossover: the given period)."""
    d = protocol.design
    if d.kind == "crossover":
        start = 0.0 if period == 0 else d.period_days + d.washout_days
        return start, start + d.period_days
    return protocol.baseline_day, float(protocol.visits[-1])


def _numeric(protocol: Protocol) -> list[str]:
    return [m for m in protocol.assessments if m != "ais"]


def _safety(courses: ArmCourses, members: np.ndarray) -> dict[str, Any]:
    member_set = set(np.flatnonzero(members).tolist())
    events = [e for e in courses.events if e["patient"] in member_set]
    n = len(member_set)
    by_kind = Counter(str(e.get("kind")) for e in events)
    by_severity = Counter(str(e.get("severity")) for e in events)
    serious = {e["patient"] for e in events if str(e.get("severity")) in SERIOUS}
    any_event = {e["patient"] for e in events}
    k_serious, k_any = len(serious), len(any_event)
    ci_s, ci_a = clopper_pearson(k_serious, n), clopper_pearson(k_any, n)
    return {
        "n_events": len(events),
        "by_kind": dict(sorted(by_kind.items())),
        "by_severity": dict(sorted(by_severity.items())),
        "patients_with_event": {
            "k": k_any,
            "n": n,
            "rate": k_any / n if n else None,
            "ci95": list(ci_a) if ci_a else None,
        },
        "patients_with_serious_event": {
            "k": k_serious,
            "n": n,
            "rate": k_serious / n if n else None,
            "ci95": list(ci_s) if ci_s else None,
        },
    }


def _arm_block(protocol, courses, members, periods) -> dict[str, Any]:
    """Responders/change/safety for `members`; `periods[i]` is patient i's offset (crossover)."""
    responders, change_block = {}, {}
    offsets = sorted(set(periods[members].tolist())) if members.any() else [0]
    for e in protocol.endpoints:
        r_all = np.zeros(len(members), bool)
        a_all = np.zeros(len(members), bool)
        for period in offsets:
            sel = members & (periods == period)
            off = _window(protocol, period)[0] if protocol.design.kind == "crossover" else 0.0
            r, a = endpoint_outcome(protocol, courses[period], e, off)
            r_all |= r & sel
            a_all |= a & sel
        responders[e.name] = _rate(r_all, a_all)
    for m in _numeric(protocol):
        values = np.full(len(members), np.nan)
        for period in offsets:
            sel = members & (periods == period)
            lo, hi = _window(protocol, period)
            values[sel] = change(protocol, courses[period], m, lo, hi)[sel]
        change_block[m] = _mean(values)
    primary = responders[protocol.primary]
    return {
        "n_enrolled": int(members.sum()),
        "n_dropped": None,
        "n_analysed": primary["n"],
        "responders": responders,
        "change": change_block,
    }


def _pair(protocol, kind, name_a, name_b, ca, cb, members_a, members_b, offsets=(0.0, 0.0)):
    """Differences a - b: responders (proportions) and change (means)."""
    paired = kind in ("paired_in_silico", "crossover")
    resp, chg = {}, {}
    for e in protocol.endpoints:
        ra, aa = endpoint_outcome(protocol, ca, e, offsets[0])
        rb, ab = endpoint_outcome(protocol, cb, e, offsets[1])
        if paired:
            both = members_a & aa & ab
            result = newcombe_paired(ra[both], rb[both])
            n = int(both.sum())
        else:
            sa, sb = members_a & aa, members_b & ab
            result = newcombe_unpaired(
                int(ra[sa].sum()), int(sa.sum()), int(rb[sb].sum()), int(sb.sum())
            )
            n = int(sa.sum() + sb.sum())
        resp[e.name] = {
            "difference": result[0] if result else None,
            "ci95": list(result[1]) if result else None,
            "n": n,
        }
    for m in _numeric(protocol):
        lo_a, hi_a = _window(protocol, 0 if offsets[0] == 0 else 1)
        lo_b, hi_b = _window(protocol, 0 if offsets[1] == 0 else 1)
        da = change(protocol, ca, m, lo_a, hi_a)
        db = change(protocol, cb, m, lo_b, hi_b)
        if paired:
            both = members_a & np.isfinite(da) & np.isfinite(db)
            mean, ci = mean_ci((da - db)[both])
            n = int(both.sum())
        else:
            mean, ci = welch_difference(da[members_a], db[members_b])
            n = int(np.isfinite(da[members_a]).sum() + np.isfinite(db[members_b]).sum())
        chg[m] = {"difference": mean, "ci95": list(ci) if ci else None, "n": n}
    return {"kind": kind, "arm": name_a, "versus": name_b, "responders": resp, "change": chg}


def analyse(protocol: Protocol, cohort: Cohort, courses: list[ArmCourses]) -> dict[str, Any]:
    """The summary's arms, comparisons, safety and CONSORT flow for one simulated trial."""
    n = cohort.n_enrolled
    everyone = np.ones(n, bool)
    completes = ~np.isfinite(cohort.dropout_day)
    arms: dict[str, Any] = {}
    safety: dict[str, Any] = {}
    comparisons: list[dict[str, Any]] = []
    kind = protocol.design.kind
    if kind == "crossover":
        # treatment X: patients of sequence X got it in period 1, the others in period 2
        by_seq = courses
        for x, arm in enumerate(protocol.arms):
            periods = np.where(cohort.allocation == x, 0, 1)
            seq_courses = [by_seq[x], by_seq[1 - x]]  # course holding period 0 / period 1
            block = _arm_block(protocol, seq_courses, everyone, periods)
            block["n_dropped"] = int((~completes).sum())
            arms[arm.name] = block
        for s, c in enumerate(courses):
            safety[c.name] = _safety(c, cohort.allocation == s)
        p = protocol.design.period_days + protocol.design.washout_days
        # within patient, A - B: sequence AB has A in period 1, BA has A in period 2
        a, b = protocol.arms
        r = _crossover(protocol, cohort, courses, a.name, b.name, p)
        comparisons.append(r)
        return {"arms": arms, "comparisons": comparisons, "safety": safety}
    trial_index = {a.name: i for i, a in enumerate(protocol.trial_arms)}
    members = {}
    for c in courses:
        if c.counterfactual or kind == "single_arm_run_in":
            members[c.name] = everyone
        else:
            members[c.name] = cohort.allocation == trial_index[c.name]
        zero = np.zeros(n, int)
        block = _arm_block(protocol, [c], members[c.name], zero)
        block["n_dropped"] = int((members[c.name] & ~completes).sum())
        block["counterfactual"] = c.counterfactual
        arms[c.name] = block
        safety[c.name] = _safety(c, members[c.name])
    by_name = {c.name: c for c in courses}
    for a, b in combinations([c.name for c in courses], 2):
        ca, cb = by_name[a], by_name[b]
        if kind == "parallel" and not ca.counterfactual and not cb.counterfactual:
            comparisons.append(_pair(protocol, "randomised", a, b, ca, cb, members[a], members[b]))
        comparisons.append(_pair(protocol, "paired_in_silico", a, b, ca, cb, everyone, everyone))
    return {"arms": arms, "comparisons": comparisons, "safety": safety}


def _crossover(protocol, cohort, courses, a, b, offset) -> dict[str, Any]:
    """Within-patient A - B from each patient's own sequence (the crossover analysis)."""
    out = {"kind": "crossover", "arm": a, "versus": b, "responders": {}, "change": {}}
    seq = cohort.allocation
    for e in protocol.endpoints:
        ra0, aa0 = endpoint_outcome(protocol, courses[0], e, 0.0)  # AB: A in period 1
        rb0, ab0 = endpoint_outcome(protocol, courses[0], e, offset)
        rb1, ab1 = endpoint_outcome(protocol, courses[1], e, 0.0)  # BA: B in period 1
        ra1, aa1 = endpoint_outcome(protocol, courses[1], e, offset)
        ra = np.where(seq == 0, ra0, ra1)
        rb = np.where(seq == 0, rb0, rb1)
        ok = np.where(seq == 0, aa0 & ab0, aa1 & ab1)
        result = newcombe_paired(ra[ok], rb[ok])
        out["responders"][e.name] = {
            "difference": result[0] if result else None,
            "ci95": list(result[1]) if result else None,
            "n": int(ok.sum()),
        }
    for m in _numeric(protocol):
        (l0, h0), (l1, h1) = _window(protocol, 0), _window(protocol, 1)
        a_ch = np.where(
            seq == 0,
            change(protocol, courses[0], m, l0, h0),
            change(protocol, courses[1], m, l1, h1),
        )
        b_ch = np.where(
            seq == 0,
            change(protocol, courses[0], m, l1, h1),
            change(protocol, courses[1], m, l0, h0),
        )
        mean, ci = mean_ci(a_ch - b_ch)
        out["change"][m] = {
            "difference": mean,
            "ci95": list(ci) if ci else None,
            "n": int(np.isfinite(a_ch - b_ch).sum()),
        }
    return out


def consort(protocol: Protocol, cohort: Cohort, summary_arms: dict[str, Any]) -> dict[str, Any]:
    """Screened / enrolled / allocated / dropped / analysed, per arm of the trial as run."""
    arms = {
        name: {
            "allocated": block["n_enrolled"],
            "dropped": block["n_dropped"],
            "analysed": block["n_analysed"],
        }
        for name, block in summary_arms.items()
        if not block.get("counterfactual", False)
    }
    return {
        "screened": cohort.n_screened,
        "screen_failures": cohort.screen_failures,
        "enrolled": cohort.n_enrolled,
        "enrolment_target": protocol.n_enrolled,
        "arms": arms,
    }


def success(protocol: Protocol, summary: dict[str, Any]) -> dict[str, Any]:
    """Whether the primary endpoint is met under the protocol's success rule."""
    rule = protocol.success
    if rule.rule == "rate_lower_ci_above":
        block = summary["arms"][rule.arm]["responders"][protocol.primary]
        ci = block["ci95"]
        met = None if ci is None else bool(ci[0] > rule.threshold)
        return {
            "rule": rule.rule,
            "threshold": rule.threshold,
            "arm": rule.arm,
            "estimate": block["rate"],
            "ci95": ci,
            "met": met,
        }
    wanted = {
        "parallel": "randomised",
        "single_arm_run_in": "paired_in_silico",
        "crossover": "crossover",
    }[protocol.design.kind]
    if protocol.design.kind == "parallel" and any(
        a.counterfactual for a in protocol.arms if a.name in (rule.arm, rule.versus)
    ):
        wanted = "paired_in_silico"
    for comp in summary["comparisons"]:
        if comp["kind"] != wanted or {comp["arm"], comp["versus"]} != {rule.arm, rule.versus}:
            continue
        block = comp["responders"][protocol.primary]
        estimate, ci = block["difference"], block["ci95"]
        if comp["arm"] != rule.arm and estimate is not None:  # stored as versus - arm: flip
            estimate, ci = -estimate, [-ci[1], -ci[0]] if ci else None
        met = None if ci is None else bool(ci[0] > rule.threshold)
        return {
            "rule": rule.rule,
            "threshold": rule.threshold,
            "arm": rule.arm,
            "versus": rule.versus,
            "comparison": wanted,
            "estimate": estimate,
            "ci95": ci,
            "met": met,
        }
    return {"rule": rule.rule, "threshold": rule.threshold, "met": None, "estimate": None}


def rounded(value: Any, digits: int = 10) -> Any:
    """Floats to `digits` significant digits (nan/inf -> None), recursively."""
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return None
        return float(f"{v:.{digits}g}")
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, digits) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    return value


def mixed_model(
    protocol: Protocol, cohort: Cohort, courses: list[ArmCourses], *, max_patients: int = 2000
) -> dict[str, Any] | None:
    """A linear mixed model (random intercept per patient) of the primary endpoint's measure.

    Parallel: value ~ arm * months; single arm with run-in: value ~ months_run_in +
    months_treatment (the change of slope is the treatment); crossover: None (see the
    crossover comparison). Fitted on the trial as run, at most `max_patients` (the first ones).
    """
    import pandas as pd
    import statsmodels.formula.api as smf

    endpoint = protocol.endpoint(protocol.primary)
    if endpoint.all_of:
        endpoint = protocol.endpoint(endpoint.all_of[0])
    measure = endpoint.measure
    kind = protocol.design.kind
    if kind == "crossover":
        return None
    days = np.asarray(protocol.visits, dtype=float)
    frames = []
    trial_arms = [c for c in courses if not c.counterfactual]
    keep = np.arange(cohort.n_enrolled) < max_patients
    for i, c in enumerate(trial_arms):
        members = keep if kind == "single_arm_run_in" else keep & (cohort.allocation == i)
        values = measure_values(protocol, c, measure)[members]
        idx = np.flatnonzero(members)
        frames.append(
            pd.DataFrame(
                {
                    "patient": np.repeat(idx, len(days)),
                    "arm": c.name,
                    "day": np.tile(days, len(idx)),
                    "value": values.ravel(),
                }
            )
        )
    data = pd.concat(frames, ignore_index=True).dropna()
    if data["patient"].nunique() < 5:
        return None
    data["months"] = data["day"] / 30.4375
    if kind == "single_arm_run_in":
        run_in = protocol.design.run_in_days / 30.4375
        data["months_run_in"] = np.minimum(data["months"], run_in)
        data["months_treatment"] = np.maximum(data["months"] - run_in, 0.0)
        formula = "value ~ months_run_in + months_treatment"
    else:
        names = [c.name for c in trial_arms]
        ref = protocol.success.versus if protocol.success.versus in names else names[0]
        formula = f"value ~ C(arm, Treatment(reference='{ref}')) * months"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = smf.mixedlm(formula, data, groups=data["patient"]).fit(reml=True)
        except Exception as error:  # a fit that fails is reported, never fatal
            return {"measure": measure, "formula": formula, "error": str(error)}
    ci = fit.conf_int()
    terms = {
        name: {
            "estimate": float(fit.params[name]),
            "ci95": [float(ci.loc[name, 0]), float(ci.loc[name, 1])],
            "p": float(fit.pvalues[name]),
        }
        for name in fit.fe_params.index
    }
    return {
        "measure": measure,
        "formula": formula + " + (1 | patient)",
        "n_patients": int(data["patient"].nunique()),
        "n_observations": len(data),
        "converged": bool(fit.converged),
        "terms": terms,
    }
