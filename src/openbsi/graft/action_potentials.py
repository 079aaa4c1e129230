"""Action-potential detection and per-spike features on one current-clamp trace (array layer).

Definitions (stated so they can be compared with other tools):
  - a spike is an upward crossing of `peak_threshold_mv` followed by a maximum (its peak);
  - threshold: the first sample of the run of dV/dt >= `dvdt_threshold_mv_ms` (>= 3 samples)
    that holds the fastest rise between the preceding trough and the peak;
  - amplitude = peak - threshold voltage; half-width = width at threshold + amplitude / 2
    (linear interpolation of both crossings);
  - after-hyperpolarisation: the lowest voltage between the peak and the next spike's threshold
    (or the window end); `ahp_mv` = threshold - trough (positive = below threshold).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# A peak must cross -20 mV: the common convention (also eFEL's default "Threshold"); assumption
# for immature cells, whose spikes may stay lower (then pass a lower value).
PEAK_THRESHOLD_MV = -20.0
# dV/dt onset criterion 10 mV/ms: a widely used AP-threshold definition (e.g. eFEL's default
# DerivativeThreshold, the Allen Cell Types whitepaper uses 5% of max dV/dt instead).
DVDT_THRESHOLD_MV_MS = 10.0
_CONSECUTIVE = 3


@dataclass(frozen=True)
class Spike:
    threshold_index: int
    peak_index: int
    threshold_mv: float
    peak_mv: float
    amplitude_mv: float
    half_width_ms: float | None
    ahp_trough_mv: float | None
    ahp_mv: float | None
    time_s: float  # peak time from the trace start

    def features(self) -> dict[str, float | None]:
        out = asdict(self)
        del out["threshold_index"], out["peak_index"]
        return out


def _crossings_up(v: np.ndarray, level: float) -> np.ndarray:
    above = v >= level
    return np.flatnonzero(~above[:-1] & above[1:]) + 1


def _interp_cross(v: np.ndarray, i0: int, i1: int, level: float) -> float:
    """Fractional index where v crosses `level` between samples i0 and i1 = i0 +- 1."""
    a, b = float(v[i0]), float(v[i1])
    if b == a:
        return float(i0)
    return i0 + (level - a) / (b - a) * (i1 - i0)


def detect_spikes(
    v_mv: np.ndarray,
    sample_rate_hz: float,
    *,
    start: int = 0,
    stop: int | None = None,
    peak_threshold_mv: float = PEAK_THRESHOLD_MV,
    dvdt_threshold_mv_ms: float = DVDT_THRESHOLD_MV_MS,
) -> list[Spike]:
    """Spikes whose peak lies in samples [start, stop) of the trace, with their features."""
    v = np.asarray(v_mv, dtype=float)
    stop = len(v) if stop is None else min(stop, len(v))
    dt_ms = 1e3 / sample_rate_hz
    dvdt = np.gradient(v, dt_ms)  # mV/ms
    ups = _crossings_up(v[start:stop], peak_threshold_mv) + start
    if ups.size == 0:
        return []
    # each spike's peak: the maximum between its up-crossing and the next down-crossing
    peaks = []
    for up in ups:
        below = np.flatnonzero(v[up:stop] < peak_threshold_mv)
        end = up + (int(below[0]) if below.size else stop - up)
        peaks.append(up + int(np.argmax(v[up : max(end, up + 1)])))
    thresholds = []
    previous_peak = start
    for peak in peaks:
        low = max(previous_peak, peak - round(20.0 / dt_ms))  # look back <= 20 ms
        trough = low + int(np.argmin(v[low : peak + 1]))
        # the rising phase: the supra-threshold run of dV/dt that holds the fastest rise; its
        # start is the threshold (a step-onset artefact earlier in the window is skipped)
        fastest = trough + int(np.argmax(dvdt[trough : peak + 1]))
        if dvdt[fastest] < dvdt_threshold_mv_ms:
            thresholds.append(None)
        else:
            below = np.flatnonzero(dvdt[trough:fastest] < dvdt_threshold_mv_ms)
            onset = trough + (int(below[-1]) + 1 if below.size else 0)
            thresholds.append(onset if fastest - onset + 1 >= _CONSECUTIVE else None)
        previous_peak = peak
    spikes = []
    for k, (peak, thr) in enumerate(zip(peaks, thresholds, strict=True)):
        if thr is None:
            continue  # a crossing without a fast rise (e.g. a slow depolarisation): not a spike
        threshold_mv, peak_mv = float(v[thr]), float(v[peak])
        amplitude = peak_mv - threshold_mv
        half = threshold_mv + amplitude / 2
        rise = np.flatnonzero(v[thr : peak + 1] >= half)
        next_limit = thresholds[k + 1] if k + 1 < len(peaks) and thresholds[k + 1] else stop
        fall = np.flatnonzero(v[peak:next_limit] < half)
        half_width = None
        if rise.size and fall.size:
            r1 = thr + int(rise[0])
            t_rise = _interp_cross(v, r1 - 1, r1, half) if r1 > thr else float(r1)
            f1 = peak + int(fall[0])
            t_fall = _interp_cross(v, f1 - 1, f1, half)
            half_width = (t_fall - t_rise) * dt_ms
        trough_mv = ahp = None
        if next_limit > peak + 1:
            trough_mv = float(np.min(v[peak:next_limit]))
            ahp = threshold_mv - trough_mv
        spikes.append(
            Spike(
                threshold_index=thr,
                peak_index=peak,
                threshold_mv=threshold_mv,
                peak_mv=peak_mv,
                amplitude_mv=amplitude,
                half_width_ms=half_width,
                ahp_trough_mv=trough_mv,
                ahp_mv=ahp,
                time_s=peak / sample_rate_hz,
            )
        )
    return spikes
