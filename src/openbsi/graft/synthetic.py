"""Synthetic patch-clamp recordings with known ground truth (tests, benchmarks, docs).

Stylised, not biophysical: an RC membrane driven by current steps, with a template action
potential pasted wherever the voltage reaches threshold; a voltage-clamp I-V with leak,
capacitive transients and optional Na+ / K+ currents. Every random draw comes from the
`numpy.random.Generator` passed in.
"""

from __future__ import annotations

import numpy as np

from openbsi.graft.ephys_io import CURRENT_CLAMP, VOLTAGE_CLAMP, Recording


def _ap_template(
    rate_hz: float, *, threshold_mv: float, peak_mv: float, ahp_mv: float
) -> np.ndarray:
    """One AP from threshold: fast rise (~0.4 ms), fall, AHP, recovery to threshold (~8 ms)."""
    t_ms = np.arange(round(8e-3 * rate_hz)) * 1e3 / rate_hz
    rise = np.clip(t_ms / 0.4, 0, 1)
    up = threshold_mv + (peak_mv - threshold_mv) * np.sin(rise * np.pi / 2) ** 2
    fall_t = np.clip((t_ms - 0.4) / 0.8, 0, 1)
    down = peak_mv + (threshold_mv - ahp_mv - peak_mv) * np.sin(fall_t * np.pi / 2) ** 2
    recover = (threshold_mv - ahp_mv) + ahp_mv * (1 - np.exp(-np.clip(t_ms - 1.2, 0, None) / 2.0))
    return np.where(t_ms < 0.4, up, np.where(t_ms < 1.2, down, recover))


def sim_current_clamp_steps(
    *,
    rng: np.random.Generator,
    steps_pa: np.ndarray | None = None,
    rate_hz: float = 20_000.0,
    resting_mv: float = -60.0,
    input_resistance_mohm: float = 1_000.0,
    capacitance_pf: float = 30.0,
    threshold_mv: float = -40.0,
    peak_mv: float = 20.0,
    noise_mv: float = 0.2,
    sweep_s: float = 1.0,
    step_start_s: float = 0.2,
    step_s: float = 0.5,
) -> Recording:
    """Current-clamp step recording of an RC cell that fires when it reaches `threshold_mv`."""
    steps_pa = np.arange(-40.0, 101.0, 10.0) if steps_pa is None else np.asarray(steps_pa, float)
    n = round(sweep_s * rate_hz)
    i0, i1 = round(step_start_s * rate_hz), round((step_start_s + step_s) * rate_hz)
    tau_s = input_resistance_mohm * 1e6 * capacitance_pf * 1e-12
    dt = 1.0 / rate_hz
    decay = np.exp(-dt / tau_s)
    template = _ap_template(rate_hz, threshold_mv=threshold_mv, peak_mv=peak_mv, ahp_mv=10.0)
    response = np.empty((steps_pa.size, n))
    command = np.zeros((steps_pa.size, n))
    for k, step in enumerate(steps_pa):
        command[k, i0:i1] = step
        v_inf = resting_mv + command[k] * input_resistance_mohm * 1e-3  # pA * MOhm = uV
        v = np.empty(n)
        state, j = resting_mv, 0
        while j < n:
            state = v_inf[j] + (state - v_inf[j]) * decay
            if state >= threshold_mv and command[k, j] > 0:
                m = min(template.size, n - j)
                v[j : j + m] = template[:m]
                state, j = threshold_mv - 10.0, j + m
                continue
            v[j] = state
            j += 1
        response[k] = v + rng.normal(0.0, noise_mv, n)
    return Recording(
        source="synthetic current clamp",
        clamp_mode=CURRENT_CLAMP,
        sample_rate_hz=rate_hz,
        response=response,
        command=command,
        sweep_start_s=np.arange(steps_pa.size) * sweep_s,
        protocol_name="synthetic IC steps",
    )


def sim_voltage_clamp_steps(
    *,
    rng: np.random.Generator,
    steps_mv: np.ndarray | None = None,
    holding_mv: float = -70.0,
    rate_hz: float = 20_000.0,
    leak_mohm: float = 1_000.0,
    access_mohm: float = 15.0,
    capacitance_pf: float = 30.0,
    na_peak_pa: float = 300.0,
    k_steady_pa: float = 400.0,
    noise_pa: float = 2.0,
    sweep_s: float = 0.3,
    step_start_s: float = 0.05,
    step_s: float = 0.15,
) -> Recording:
    """I-V steps: leak + capacitive transient + Na+ (transient inward) + K+ (sustained outward)."""
    steps_mv = np.arange(-100.0, 41.0, 10.0) if steps_mv is None else np.asarray(steps_mv, float)
    n = round(sweep_s * rate_hz)
    i0, i1 = round(step_start_s * rate_hz), round((step_start_s + step_s) * rate_hz)
    t_ms = (np.arange(n) - i0) * 1e3 / rate_hz
    tau_ms = access_mohm * capacitance_pf * 1e-3  # MOhm * pF = us
    on = (t_ms >= 0) & (np.arange(n) < i1)
    response = np.empty((steps_mv.size, n))
    command = np.full((steps_mv.size, n), holding_mv)
    for k, v in enumerate(steps_mv):
        command[k, i0:i1] = v
        dv = v - holding_mv
        current = np.zeros(n)
        current[on] += dv / leak_mohm * 1e3  # mV / MOhm = nA -> pA
        cap = dv / access_mohm * 1e3 * np.exp(-np.clip(t_ms, 0, None) / tau_ms)
        current += np.where(on, cap, 0.0)
        t_off = (np.arange(n) - i1) * 1e3 / rate_hz
        current += np.where(t_off >= 0, -cap[i0] * np.exp(-np.clip(t_off, 0, None) / tau_ms), 0.0)
        # Boltzmann activation: Na half at -30 mV, K half at -10 mV (assumption, stylised)
        m_na = 1 / (1 + np.exp(-(v + 30.0) / 5.0))
        m_k = 1 / (1 + np.exp(-(v + 10.0) / 8.0))
        drive_na = (v - 55.0) / (-30.0 - 55.0)  # reversal +55 mV, normalised at -30 mV
        shape_na = np.where(on, (1 - np.exp(-t_ms / 0.3)) * np.exp(-t_ms / 1.5), 0.0)
        current -= na_peak_pa * m_na * drive_na * shape_na / 0.6
        shape_k = np.where(on, 1 - np.exp(-t_ms / 5.0), 0.0)
        current += k_steady_pa * m_k * shape_k * max(v + 90.0, 0.0) / 100.0
        response[k] = current + rng.normal(0.0, noise_pa, n)
    return Recording(
        source="synthetic voltage clamp",
        clamp_mode=VOLTAGE_CLAMP,
        sample_rate_hz=rate_hz,
        response=response,
        command=command,
        sweep_start_s=np.arange(steps_mv.size) * sweep_s,
        protocol_name="synthetic VC IV",
    )


# Flow cytometry ---------------------------------------------------------------------------

FLOW_SCATTER = ("FSC-A", "FSC-H", "SSC-A")
VIABILITY_CHANNEL = "Zombie-A"


def sim_flow_events(
    *,
    rng: np.random.Generator,
    n_events: int,
    marker_fractions: dict[str, float],
    debris_fraction: float = 0.05,
    doublet_fraction: float = 0.03,
    dead_fraction: float = 0.05,
    spillover: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Events (n, channels) of a stylised sample: scatter, viability dye, one channel per marker.

    Cells: FSC ~ 60k, SSC ~ 30k; debris low FSC/SSC; doublets twice the area at the same height;
    dead cells bright in the viability dye; marker-positive cells ~ 20x the negative level
    (log-normal). `spillover` (k x k over the marker channels, rows = emitter) is applied so a
    correct compensation recovers the true populations.
    """
    channels = [*FLOW_SCATTER, VIABILITY_CHANNEL, *marker_fractions]
    events = np.empty((n_events, len(channels)))
    kind = rng.choice(
        4,
        size=n_events,
        p=[
            1 - debris_fraction - doublet_fraction - dead_fraction,
            debris_fraction,
            doublet_fraction,
            dead_fraction,
        ],
    )
    fsc_h = rng.lognormal(np.log(60_000), 0.15, n_events)
    ratio = rng.normal(0.9, 0.02, n_events)
    fsc_a = fsc_h / ratio
    ssc = rng.lognormal(np.log(30_000), 0.25, n_events)
    debris = kind == 1
    fsc_h[debris] = rng.lognormal(np.log(4_000), 0.4, debris.sum())
    fsc_a[debris] = fsc_h[debris] / 0.9
    ssc[debris] = rng.lognormal(np.log(5_000), 0.5, debris.sum())
    fsc_a[kind == 2] *= 2.0  # two cells in one event: double area, same height
    dye = rng.lognormal(np.log(300), 0.4, n_events)
    dye[kind == 3] = rng.lognormal(np.log(20_000), 0.3, (kind == 3).sum())
    events[:, 0], events[:, 1], events[:, 2], events[:, 3] = fsc_a, fsc_h, ssc, dye
    for j, fraction in enumerate(marker_fractions.values()):
        positive = rng.random(n_events) < fraction
        level = rng.lognormal(np.log(200), 0.35, n_events)
        level[positive] = rng.lognormal(np.log(4_000), 0.35, positive.sum())
        events[:, 4 + j] = level
    if spillover is not None:
        events[:, 4:] = events[:, 4:] @ spillover
    return events, channels
