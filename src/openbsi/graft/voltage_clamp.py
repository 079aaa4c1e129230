"""Voltage clamp: I-V with leak subtraction (Na+ / K+ presence); membrane test (Ra, Rm, Cm)."""

from __future__ import annotations

import numpy as np

from openbsi.graft.ephys_io import Recording
from openbsi.graft.protocol import Protocol

# Presence above noise: a leak-subtracted current counts when it exceeds 5 SD of the baseline
# noise and at least 20 pA (assumption: 5 SD keeps the false-positive rate per step tiny).
NOISE_SD_FACTOR = 5.0
MIN_CURRENT_PA = 20.0
_INWARD_WINDOW_MS = (0.3, 10.0)  # Na+ peaks within ~0.5-3 ms of the step (assumption, wide)
_STEADY_FRACTION = 0.2  # last 20 % of the step
# Na+ activates from about -40 mV and delayed-rectifier K+ from about -30 mV (textbook, Hille,
# Ion Channels of Excitable Membranes, 3rd ed.); steps must reach -30 mV for an absence to count.
ACTIVATION_TESTED_MV = -30.0


def analyse_iv(recording: Recording, protocol: Protocol) -> dict:
    """Peak inward and steady outward current per step after scaled leak subtraction.

    Leak (and capacitive transient) is the response to the smallest hyperpolarising step,
    scaled linearly to each step's size (a P/N-style subtraction: a passive membrane responds
    in proportion to the step). Steps without such a reference are reported unsubtracted.
    """
    rate = recording.sample_rate_hz
    step = protocol.step_epoch
    assert step is not None
    start, stop = step.start, step.stop
    baseline_of = np.median(recording.response[:, :start], axis=1)
    delta_v = step.levels - protocol.holding
    hyper = [s for s in range(recording.n_sweeps) if delta_v[s] <= -2.0]
    reference = max(hyper, key=lambda s: delta_v[s]) if hyper else None  # smallest |dV|
    ref_trace = None
    if reference is not None:
        ref_trace = (recording.response[reference, start:stop] - baseline_of[reference]) / delta_v[
            reference
        ]
    pre_noise = [
        float(np.std(recording.response[s, max(0, start - int(0.05 * rate)) : start]))
        for s in range(recording.n_sweeps)
    ]
    noise_pa = float(np.median(pre_noise))
    i0 = start + round(_INWARD_WINDOW_MS[0] * 1e-3 * rate)
    i1 = min(stop, start + round(_INWARD_WINDOW_MS[1] * 1e-3 * rate))
    n_steady = max(1, int((stop - start) * _STEADY_FRACTION))
    rows = []
    for sweep in range(recording.n_sweeps):
        current = recording.response[sweep, start:stop] - baseline_of[sweep]
        subtracted = ref_trace is not None and sweep != reference
        if subtracted:
            current = current - ref_trace * delta_v[sweep]
        scale = abs(delta_v[sweep] / delta_v[reference]) if subtracted else 1.0
        threshold = max(NOISE_SD_FACTOR * noise_pa * (1 + scale), MIN_CURRENT_PA)
        inward = float(np.min(current[i0 - start : i1 - start]))
        outward = float(np.mean(current[-n_steady:]))
        rows.append(
            {
                "sweep": sweep,
                "step_mv": float(step.levels[sweep]),
                "inward_peak_pa": inward,
                "outward_steady_pa": outward,
                "leak_subtracted": subtracted,
                "threshold_pa": float(threshold),
                "inward_above_noise": bool(subtracted and -inward > threshold),
                "outward_above_noise": bool(subtracted and outward > threshold),
            }
        )
    depolarised = [r for r in rows if r["step_mv"] > protocol.holding]
    return {
        "protocol": protocol.kind,
        "holding_mv": protocol.holding,
        "leak_reference_sweep": reference,
        "step_window_s": [start / rate, stop / rate],
        "noise_sd_pa": noise_pa,
        "iv": rows,
        # Na+ / K+ are judged on depolarising steps only, where they activate
        "na_present": any(r["inward_above_noise"] for r in depolarised)
        if reference is not None
        else None,
        "k_present": any(r["outward_above_noise"] for r in depolarised)
        if reference is not None
        else None,
        "max_step_mv": float(np.max(step.levels)),
        # False presence is conclusive only if the steps reach activation
        "activation_range_tested": bool(np.max(step.levels) >= ACTIVATION_TESTED_MV),
    }


def analyse_membrane_test(recording: Recording, protocol: Protocol) -> dict:
    """Access resistance, membrane resistance and capacitance from the averaged test pulse.

    Charge method: the transient's charge Q = dV Cm Rm / (Ra + Rm) is preserved by a low-pass
    filter (a filter moves charge in time, not away), so a 2 kHz Bessel filter that flattens
    the peak does not bias it. With total resistance Rt = dV / I_ss and the decay time constant
    tau = Ra Rm Cm / Rt: Ra = tau dV / Q, Rm = Rt - Ra, Cm = Q Rt / (dV Rm). The same is done
    per sweep (`per_sweep`, with the sweep's start time) to follow drift, e.g. after a drug.
    """
    step = protocol.step_epoch
    assert step is not None
    delta_v = float(np.median(step.levels) - protocol.holding)  # mV
    mean = _membrane_params(
        recording.response.mean(axis=0), step.start, step.stop, delta_v, recording.sample_rate_hz
    )
    per_sweep = []
    for sweep in range(recording.n_sweeps):
        params = _membrane_params(
            recording.response[sweep], step.start, step.stop, delta_v, recording.sample_rate_hz
        )
        per_sweep.append({"sweep": sweep, "t_s": float(recording.sweep_start_s[sweep]), **params})
    return {
        "protocol": protocol.kind,
        "step_mv": delta_v,
        "sweeps_averaged": recording.n_sweeps,
        **mean,
        "per_sweep": per_sweep,
    }


def _membrane_params(trace: np.ndarray, start: int, stop: int, delta_v: float, rate: float) -> dict:
    out: dict = {
        "access_resistance_mohm": None,
        "membrane_resistance_mohm": None,
        "capacitance_pf": None,
        "tau_ms": None,
        "total_resistance_mohm": None,
    }
    if start > 2:
        base = float(np.mean(trace[max(0, start - int(0.002 * rate)) : start]))
    else:
        base = float(np.mean(trace[stop - int((stop - start) * _STEADY_FRACTION) : stop]))
    current = trace[start:stop] - base
    n_steady = max(1, int(current.size * _STEADY_FRACTION))
    i_ss = float(np.mean(current[-n_steady:]))
    if delta_v == 0 or i_ss == 0 or np.sign(i_ss) != np.sign(delta_v):
        return out
    rt_gohm = delta_v / i_ss  # mV / pA = GOhm
    out["total_resistance_mohm"] = rt_gohm * 1e3
    transient = current - i_ss
    dt_s = 1.0 / rate
    charge_pc = float(np.sum(transient[: current.size - n_steady]) * dt_s)  # pA s = pC
    # decay: log-linear fit between 80 % and 10 % of the transient's peak, after the peak
    peak = int(np.argmax(np.abs(transient)))
    height = abs(transient[peak])
    after = np.abs(transient[peak:])
    lo = np.flatnonzero(after < 0.1 * height)
    end = peak + (int(lo[0]) if lo.size else after.size)
    below = np.flatnonzero(after <= 0.8 * height)
    hi = peak + int(below[0]) if below.size else peak
    if end - hi < 3 or height == 0:
        return out
    t = np.arange(hi, end) * dt_s
    with np.errstate(divide="ignore"):
        logs = np.log(np.abs(transient[hi:end]))
    if not np.all(np.isfinite(logs)):
        return out
    slope = np.polyfit(t, logs, 1)[0]
    if slope >= 0 or charge_pc == 0 or np.sign(charge_pc) != np.sign(delta_v):
        return out
    tau_s = -1.0 / slope
    ra_gohm = tau_s * delta_v / charge_pc
    rm_gohm = rt_gohm - ra_gohm
    if rm_gohm <= 0:
        return out
    cm_nf = charge_pc * rt_gohm / (delta_v * rm_gohm)  # pC / mV = nF
    out.update(
        access_resistance_mohm=ra_gohm * 1e3,
        membrane_resistance_mohm=rm_gohm * 1e3,
        capacitance_pf=cm_nf * 1e3,
        tau_ms=tau_s * 1e3,
    )
    return out
