"""An independent audit of emitted pulses against the limits (for tests and the bench).

Written separately from SafetySupervisor.pulse_ok, vectorised with numpy, so that a mistake
in the gate is not repeated in the check that judges it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from openbsi.safety.limits import SafetyLimits
from openbsi.stimulation.types import Electrode, Pulse

_TOLERANCE_NS = 2.0
_REL = 1e-9  # relative tolerance on charge products (floating-point rounding)


def pulse_arrays(pulses: Sequence[Pulse]) -> dict[str, np.ndarray]:
    """Columns of a pulse list: t_ns, electrode, amplitude_ma, pulse_width_us, gap_us."""
    return {
        "t_ns": np.array([p.t_ns for p in pulses], dtype=np.float64),
        "electrode": np.array([p.electrode for p in pulses], dtype=np.int64),
        "amplitude_ma": np.array([p.amplitude_ma for p in pulses], dtype=np.float64),
        "pulse_width_us": np.array([p.pulse_width_us for p in pulses], dtype=np.float64),
        "gap_us": np.array([p.interphase_gap_us for p in pulses], dtype=np.float64),
    }


def out_of_limit_mask(
    pulses: Sequence[Pulse], limits: SafetyLimits, electrodes: tuple[Electrode, ...]
) -> np.ndarray:
    """True for every pulse that breaks a limit (alone, by its rate, or by total current)."""
    if len(pulses) == 0:
        return np.zeros(0, dtype=bool)
    cols = pulse_arrays(pulses)
    return out_of_limit_mask_arrays(
        cols["t_ns"],
        cols["electrode"],
        cols["amplitude_ma"],
        cols["pulse_width_us"],
        cols["gap_us"],
        limits,
        electrodes,
    )


def out_of_limit_mask_arrays(
    t: np.ndarray,
    e: np.ndarray,
    a: np.ndarray,
    pw: np.ndarray,
    gap: np.ndarray,
    limits: SafetyLimits,
    electrodes: tuple[Electrode, ...],
) -> np.ndarray:
    """out_of_limit_mask on columns (t_ns as float64 or int64, electrode as int64)."""
    n = len(t)
    if n == 0:
        return np.zeros(0, dtype=bool)
    t = np.asarray(t, dtype=np.float64)
    e = np.asarray(e, dtype=np.int64)
    bad = ~(np.isfinite(a) & np.isfinite(pw) & np.isfinite(gap) & np.isfinite(t))
    area_by_index = {el.index: el.area_mm2 for el in electrodes}
    lookup = np.full(max(max(area_by_index), 0) + 1, np.nan)
    for index, area in area_by_index.items():
        if index >= 0:
            lookup[index] = area
    inside = (e >= 0) & (e < len(lookup))
    area_cm2 = np.where(inside, lookup[np.clip(e, 0, len(lookup) - 1)], np.nan) / 100.0
    bad |= ~np.isfinite(area_cm2)
    with np.errstate(invalid="ignore", divide="ignore"):
        bad |= ~((a > 0) & (a >= limits.min_amplitude_ma) & (a <= limits.max_amplitude_ma))
        bad |= ~((pw >= limits.min_pulse_width_us) & (pw <= limits.max_pulse_width_us))
        bad |= ~((gap >= 0) & (gap <= limits.max_interphase_gap_us))
        phase_us = np.minimum(pw, 0.5e6 / limits.carrier_hz) if limits.carrier_hz > 0 else pw
        q_uc = a * phase_us * 1e-3
        d = q_uc / area_cm2
        bad |= d > limits.max_charge_density_uc_cm2 * (1 + _REL)
        # Shannon 1992: log10(D) <= k - log10(Q).
        bad |= np.log10(d) + np.log10(q_uc) > limits.shannon_k + _REL
        if limits.max_rms_density_ma_cm2 > 0:
            conducting_s = (pw if limits.carrier_hz > 0 else 2.0 * pw) * 1e-6
            duty = np.minimum(limits.max_frequency_hz * conducting_s, 1.0)
            rms_density = a * np.sqrt(duty) / area_cm2
            bad |= rms_density > limits.max_rms_density_ma_cm2 * (1 + _REL)
        # Per-electrode rate and duty: interval to the electrode's previous pulse.
        span_us = pw if limits.carrier_hz > 0 else 2.0 * pw + gap
        pulse_s = span_us * 1e-6
        max_f = np.minimum(limits.max_frequency_hz, limits.max_duty_fraction / pulse_s)
        min_interval_ns = 1e9 / max_f
    order = np.lexsort((t, e))
    same = e[order][1:] == e[order][:-1]
    interval = np.diff(t[order])
    too_fast = same & (interval < min_interval_ns[order][1:] - _TOLERANCE_NS)
    bad[order[1:][too_fast]] = True
    # Total current of overlapping pulses (a pulse ending at t does not overlap one at t).
    end = t + np.ceil(span_us * 1e3)
    times = np.concatenate([end, t])
    deltas = np.concatenate([-np.nan_to_num(a), np.nan_to_num(a)])
    kind = np.concatenate([np.zeros(n), np.ones(n)])  # ends sort before starts at equal times
    idx = np.concatenate([np.arange(n), np.arange(n)])
    sweep = np.lexsort((kind, times))
    level = np.cumsum(deltas[sweep])
    starts = kind[sweep] == 1
    over = starts & (level > limits.max_total_ma * (1 + _REL))
    bad[idx[sweep][over]] = True
    return bad


def count_out_of_limit(
    pulses: Sequence[Pulse], limits: SafetyLimits, electrodes: tuple[Electrode, ...]
) -> int:
    """How many pulses break a limit."""
    return int(out_of_limit_mask(pulses, limits, electrodes).sum())
