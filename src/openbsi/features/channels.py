"""Bad-channel detection on one window: NaN, flat, saturated (clipped) or outlier variance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SATURATION_STRIDE = 4
REASONS = ("", "nan", "flat", "saturated", "high_variance", "low_variance")


@dataclass(frozen=True)
class BadChannelConfig:
    """Thresholds for `detect_bad_channels` (per window, channels x samples, in uV)."""

    flat_std_uv: float = 1e-3  # below this standard deviation a channel is flat
    saturation_fraction: float = 0.02  # share of samples pinned at the window's extreme
    variance_ratio: float = 25.0  # variance this many times above/below the median: outlier
    min_channels_for_outlier: int = 4  # too few channels -> no median to compare with

    def __post_init__(self) -> None:
        if not self.flat_std_uv >= 0:
            raise ValueError(f"flat_std_uv must be >= 0 uV, got {self.flat_std_uv}")
        if not 0 < self.saturation_fraction <= 1:
            raise ValueError(
                f"saturation_fraction must be in (0, 1], got {self.saturation_fraction}"
            )
        if not self.variance_ratio > 1:
            raise ValueError(f"variance_ratio must be > 1, got {self.variance_ratio}")


def _range_flat_and_plateau(
    data: np.ndarray, cfg: BadChannelConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: peak-to-peak range <= cfg.flat_std_uv; plateau at the window's max or min.

    Clipping leaves plateaus at the extremes. They are counted on every SATURATION_STRIDE-th
    sample (cheap; a plateau of >= 2 % of the window is still seen, in expectation), as the
    number of those samples equal to the window's max (or min). The subsample's own extremes
    decide almost every channel: the window's range is at least the subsample's, and if the
    window's max is not in the subsample its count there is 0. Only channels that could pass
    either test get the full-window max and min.
    """
    sub = np.ascontiguousarray(data[:, ::SATURATION_STRIDE])
    need = max(2, int(np.ceil(cfg.saturation_fraction * sub.shape[1])))
    # ufunc reductions called directly: at 64 channels the wrappers cost as much as the work
    top, bottom = np.maximum.reduce(sub, axis=1), np.minimum.reduce(sub, axis=1)
    count_dtype = np.min_scalar_type(sub.shape[1])  # summing bytes is faster than count_nonzero
    hits = np.equal(sub, top[:, None]).view(np.uint8)
    at_top = np.add.reduce(hits, axis=1, dtype=count_dtype) >= need
    np.equal(sub, bottom[:, None], out=hits.view(bool))
    at_bottom = np.add.reduce(hits, axis=1, dtype=count_dtype) >= need
    range_flat = top - bottom <= cfg.flat_std_uv
    check = np.flatnonzero(at_top | at_bottom | range_flat)
    if check.size:
        rows = data[check]
        window_top, window_bottom = rows.max(axis=1), rows.min(axis=1)
        range_flat[check] = window_top - window_bottom <= cfg.flat_std_uv
        at_top[check] &= top[check] == window_top
        at_bottom[check] &= bottom[check] == window_bottom
    return range_flat, at_top | at_bottom


def _median(values: np.ndarray) -> float:
    """np.median of a 1-D float array (same value), without its generic machinery (~15 us)."""
    n = values.size
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    part = np.partition(values, (k - 1, k))
    return float((part[k - 1] + part[k]) / 2.0)


def detect_bad_channels(
    window: np.ndarray,
    config: BadChannelConfig | None = None,
    row_sums: np.ndarray | None = None,
) -> dict[int, str]:
    """Bad channels of a (n_channels, n_samples) window -> {channel index: reason}.

    Reasons: 'nan' (any non-finite sample), 'flat', 'saturated' (a plateau at the window's
    maximum or minimum), 'high_variance' / 'low_variance' (relative to the median channel).
    `row_sums` (per channel, if the caller has them already) saves one pass over the window.
    Never raises on bad data.
    """
    cfg = config or BadChannelConfig()
    n_channels, n_samples = window.shape
    # One pass each, no large temporaries: NaN/inf make the sum of squares non-finite.
    mean = window.mean(axis=1) if row_sums is None else np.asarray(row_sums) / n_samples
    sumsq = np.einsum("ij,ij->i", window, window)
    finite = np.isfinite(sumsq)
    if finite.all():
        data = window
    else:
        data = np.where(finite[:, None], window, 0.0)
        mean = np.where(finite, mean, 0.0)
        sumsq = np.where(finite, sumsq, 0.0)
    var = np.maximum(sumsq / n_samples - mean.astype(np.float64) ** 2, 0.0)
    std = np.sqrt(var)
    range_flat, plateau = _range_flat_and_plateau(data, cfg)
    # A constant channel far from zero can show a tiny spurious std (float32 rounding of
    # sum x^2 - n mean^2); its peak-to-peak range is exactly zero.
    flat = finite & ((std <= cfg.flat_std_uv) | range_flat)
    saturated = finite & ~flat & plateau
    code = np.zeros(n_channels, dtype=np.int8)  # index into REASONS; 0 = good
    code[~finite] = 1
    code[flat] = 2
    code[saturated] = 3
    remaining = code == 0
    if np.count_nonzero(remaining) >= cfg.min_channels_for_outlier:
        ratio = var / max(_median(var[remaining]), 1e-300)
        code[remaining & (ratio > cfg.variance_ratio)] = 4
        code[remaining & (ratio < 1.0 / cfg.variance_ratio)] = 5
    return {int(ch): REASONS[code[ch]] for ch in np.flatnonzero(code)}
