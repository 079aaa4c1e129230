"""Current-clamp step analysis: passive properties, rheobase, f-I curve, sag, spike features."""

from __future__ import annotations

import numpy as np
from scipy.optimize import curve_fit

from openbsi.graft.action_potentials import PEAK_THRESHOLD_MV, Spike, detect_spikes
from openbsi.graft.ephys_io import Recording
from openbsi.graft.protocol import Protocol

_STEADY_FRACTION = 0.2  # steady state = the last 20 % of an epoch (assumption, common practice)
_HOLDING_ZERO_PA = 1.0  # |holding| below this counts as no injected current
_MAX_TAU_FITS = 4  # distinct small steps fitted for tau (each an average of its sweeps)


def _smoothed(v: np.ndarray, sample_rate_hz: float) -> np.ndarray:
    """1 ms moving average: minima of noisy traces (sag, end of the tau fit) are not noise peaks."""
    n = max(1, round(1e-3 * sample_rate_hz))
    return np.convolve(v, np.ones(n) / n, mode="same")


def _steady(v: np.ndarray, start: int, stop: int) -> float:
    n = max(1, int((stop - start) * _STEADY_FRACTION))
    return float(np.mean(v[stop - n : stop]))


def _fit_tau_ms(v: np.ndarray, start: int, stop: int, sample_rate_hz: float) -> float | None:
    """Membrane time constant: single exponential from step onset to the voltage minimum.

    The fit ends at the minimum so that a sag (Ih) does not bend the charging curve; the first
    0.5 ms are skipped (bridge-balance artefact). None when the fit fails.
    """
    segment = v[start:stop]
    if segment.size < 20:
        return None
    end = int(np.argmin(_smoothed(segment, sample_rate_hz)))
    skip = round(0.5e-3 * sample_rate_hz)
    if end - skip < 10:
        return None
    y = segment[skip:end]
    t_ms = np.arange(y.size) * 1e3 / sample_rate_hz
    v_inf0, amp0 = float(y[-1]), float(y[0] - y[-1])
    tau0 = max(t_ms[-1] / 3, 1e-3)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            params, _ = curve_fit(
                lambda t, v_inf, amp, tau: v_inf + amp * np.exp(-t / tau),
                t_ms,
                y,
                p0=(v_inf0, amp0, tau0),
                bounds=([-np.inf, -np.inf, 1e-3], [np.inf, np.inf, 1e5]),  # tau > 0
                maxfev=2000,
            )
    except (RuntimeError, ValueError):
        return None
    tau = float(params[2])
    if not (0.05 < tau < 10 * max(t_ms[-1], 1.0)):
        return None
    return tau


def analyse_current_clamp(
    recording: Recording, protocol: Protocol, *, peak_threshold_mv: float = PEAK_THRESHOLD_MV
) -> dict:
    """Features of a current-clamp step recording (the issue's JSON shape, plus detail)."""
    rate = recording.sample_rate_hz
    step = protocol.step_epoch
    assert step is not None
    duration_s = (step.stop - step.start) / rate
    sweeps, first_spikes, all_spikes = [], {}, {}
    for sweep in range(recording.n_sweeps):
        v = recording.response[sweep]
        spikes = detect_spikes(
            v, rate, start=step.start, stop=step.stop, peak_threshold_mv=peak_threshold_mv
        )
        all_spikes[sweep] = spikes
        step_pa = float(step.levels[sweep] - protocol.holding)
        rate_hz = len(spikes) / duration_s
        isi = np.diff([s.time_s for s in spikes])
        sweeps.append(
            {
                "sweep": sweep,
                "step_pa": step_pa,
                "spikes": len(spikes),
                "rate_hz": rate_hz,
                "max_instantaneous_rate_hz": float(1 / isi.min()) if isi.size else None,
            }
        )
        if spikes:
            first_spikes[sweep] = spikes[0]
    # rheobase: the smallest depolarising-or-zero step that fires during the step
    firing = [s for s in sweeps if s["spikes"] > 0 and s["step_pa"] >= 0]
    rheobase_sweep = min(firing, key=lambda s: (s["step_pa"], s["sweep"])) if firing else None
    first_ap: dict | None = None
    if rheobase_sweep is not None:
        spike: Spike = first_spikes[rheobase_sweep["sweep"]]
        first_ap = {
            "sweep": rheobase_sweep["sweep"],
            **{k: _num(v) for k, v in spike.features().items()},
        }
    # spontaneous spikes: before the first step epoch at holding (a cell that fires at rest)
    pre = protocol.epochs[0]
    spontaneous = sum(
        len(
            detect_spikes(
                recording.response[s],
                rate,
                start=pre.start,
                stop=pre.stop,
                peak_threshold_mv=peak_threshold_mv,
            )
        )
        for s in range(recording.n_sweeps)
    )
    passive = _passive(recording, protocol, all_spikes, peak_threshold_mv)
    resting = None
    if abs(protocol.holding) < _HOLDING_ZERO_PA:
        baselines = np.median(recording.response[:, pre.start : pre.stop], axis=1)
        resting = float(np.median(baselines))
    rates = [s["rate_hz"] for s in sweeps]
    inst = [s["max_instantaneous_rate_hz"] for s in sweeps if s["max_instantaneous_rate_hz"]]
    return {
        "protocol": protocol.kind,
        "holding_pa": protocol.holding,
        "step_window_s": [step.start / rate, step.stop / rate],
        "sweeps": sweeps,
        "rheobase_pa": rheobase_sweep["step_pa"] if rheobase_sweep else None,
        "first_ap": first_ap,
        "resting_potential_mv": resting,
        "spontaneous_spikes": spontaneous,
        "rheobase_note": "the cell fires at rest before the steps: rheobase is not a threshold"
        if spontaneous
        else None,
        "max_rate_hz": float(max(rates)) if rates else None,  # 0 Hz is measured, not missing
        "max_instantaneous_rate_hz": float(max(inst)) if inst else None,
        "fires_action_potentials": bool(firing),
        "ap_peak_threshold_mv": peak_threshold_mv,
        **passive,
    }


def _num(value: object) -> object:
    return float(value) if isinstance(value, int | float | np.floating) else value


def _passive(
    recording: Recording,
    protocol: Protocol,
    spikes: dict[int, list[Spike]],
    peak_threshold_mv: float = PEAK_THRESHOLD_MV,
) -> dict:
    """Input resistance, tau, capacitance and sag from hyperpolarising steps off holding."""
    rate = recording.sample_rate_hz
    points = []  # (delta_i_pa, delta_v_mv, sweep, epoch)
    epochs = protocol.epochs
    for k in range(1, len(epochs)):
        before, epoch = epochs[k - 1], epochs[k]
        for sweep in range(recording.n_sweeps):
            at_holding = abs(before.levels[sweep] - protocol.holding) < 1e-6
            delta_i = float(epoch.levels[sweep] - protocol.holding)
            if not at_holding or delta_i >= 0:
                continue
            v = recording.response[sweep]
            in_epoch = [
                s for s in spikes.get(sweep, []) if epoch.start <= s.peak_index < epoch.stop
            ]
            fires = detect_spikes(
                v, rate, start=epoch.start, stop=epoch.stop, peak_threshold_mv=peak_threshold_mv
            )
            if in_epoch or fires:
                continue
            base = _steady(v, before.start, before.stop)
            points.append((delta_i, _steady(v, epoch.start, epoch.stop) - base, sweep, epoch, base))
    if not points:
        return {
            "input_resistance_mohm": None,
            "tau_ms": None,
            "capacitance_pf": None,
            "sag_fraction": None,
            "passive_steps": 0,
        }
    di = np.array([p[0] for p in points])
    dv = np.array([p[1] for p in points])
    r_gohm = float(np.dot(di, dv) / np.dot(di, di))  # slope through the origin, mV/pA = GOhm
    # tau from the smallest steps (least Ih): sweeps sharing an epoch and a step are averaged
    # (better signal, one fit each); the median over the groups within 2x the smallest step
    smallest = np.min(np.abs(di))
    groups: dict[tuple[int, float], list[int]] = {}
    for d, _, s, e, _ in points:
        if abs(d) <= 2 * smallest:
            groups.setdefault((e.start, d), []).append(s)
    epoch_at = {p[3].start: p[3] for p in points}
    taus = []
    for (start, _), members in sorted(groups.items(), key=lambda g: abs(g[0][1]))[:_MAX_TAU_FITS]:
        epoch = epoch_at[start]
        trace = recording.response[members].mean(axis=0)
        taus.append(_fit_tau_ms(trace, epoch.start, epoch.stop, rate))
    taus = [t for t in taus if t is not None]
    tau = float(np.median(taus)) if taus else None
    # sag of the largest hyperpolarising step: (minimum - steady) / (minimum - baseline)
    _d, _, s, e, base = min(points, key=lambda p: p[0])
    v = recording.response[s]
    edge = max(1, int(0.001 * rate))  # the moving average is biased within 1 ms of the edges
    v_min = float(np.min(_smoothed(v[e.start : e.stop], rate)[edge:-edge]))
    v_ss = _steady(v, e.start, e.stop)
    sag = (v_min - v_ss) / (v_min - base) if v_min < base else None
    return {
        "input_resistance_mohm": r_gohm * 1e3 if r_gohm > 0 else None,
        "tau_ms": tau,
        # C = tau / R: ms / GOhm = pF
        "capacitance_pf": tau / r_gohm if tau is not None and r_gohm > 0 else None,
        "sag_fraction": float(sag) if sag is not None else None,
        "passive_steps": len(points),
    }
