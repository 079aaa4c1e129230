"""Bad-channel detection on one window: NaN, flat, saturated (clipped) or outlier variance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def detect_bad_channels(
    window: np.ndarray, config: BadChannelConfig | None = None
) -> dict[int, str]:
    """Bad channels of a (n_channels, n_samples) window -> {channel index: reason}.

    Reasons: 'nan' (any non-finite sample), 'flat', 'saturated' (a plateau at the window's
    maximum or minimum), 'high_variance' / 'low_variance' (relative to the median channel).
    Never raises on bad data.
    """
    cfg = config or BadChannelConfig()
    bad: dict[int, str] = {}
    finite = np.isfinite(window).all(axis=1)
    for ch in np.flatnonzero(~finite):
        bad[int(ch)] = "nan"
    good_idx = np.flatnonzero(finite)
    if good_idx.size == 0:
        return bad
    data = window[good_idx]
    std = data.std(axis=1)
    n_samples = data.shape[1]
    top = data.max(axis=1, keepdims=True)
    bottom = data.min(axis=1, keepdims=True)
    pinned = np.maximum((data == top).sum(axis=1), (data == bottom).sum(axis=1))
    for i, ch in enumerate(good_idx):
        if std[i] <= cfg.flat_std_uv:
            bad[int(ch)] = "flat"
        elif pinned[i] >= max(2, cfg.saturation_fraction * n_samples):
            bad[int(ch)] = "saturated"
    remaining = [i for i, ch in enumerate(good_idx) if int(ch) not in bad]
    if len(remaining) >= cfg.min_channels_for_outlier:
        var = std[remaining] ** 2
        ratio = var / np.median(var)
        for i, r in zip(remaining, ratio, strict=True):
            if r > cfg.variance_ratio:
                bad[int(good_idx[i])] = "high_variance"
            elif r < 1.0 / cfg.variance_ratio:
                bad[int(good_idx[i])] = "low_variance"
    return dict(sorted(bad.items()))
