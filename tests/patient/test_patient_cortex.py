import numpy as np
import pytest
from scipy import signal

from openbsi.patient.cortex import VirtualCortex
from openbsi.patient.intent import IntentBlock, IntentScript, cued_calibration_script

FS = 586.0


def _blocks(state: str, seconds: float = 40.0) -> IntentScript:
    half = seconds / 2
    return IntentScript((IntentBlock(0, half, "rest", 0.0), IntentBlock(half, seconds, state, 1.0)))


def test_info_and_shape() -> None:
    cortex = VirtualCortex(
        cued_calibration_script(10, np.random.default_rng(0)), np.random.default_rng(1)
    )
    assert cortex.info.n_channels == 64
    assert cortex.info.channel_names[0] == "L01" and cortex.info.channel_names[-1] == "R32"
    assert {m["group"] for m in cortex.info.channel_meta} == {"left", "right"}
    x = cortex.read(100)
    assert x.shape == (64, 100) and x.dtype == np.float64
    assert cortex.t_s == pytest.approx(100 / FS)
    assert np.isfinite(x).all()


def test_chunked_reads_are_continuous() -> None:
    """No jump at chunk boundaries: the boundary difference is like any other difference."""
    cortex = VirtualCortex(_blocks("left_hip", 10.0), np.random.default_rng(2))
    x = np.concatenate([cortex.read(7) for _ in range(400)], axis=1)
    d = np.abs(np.diff(x, axis=1))
    boundary = d[:, 6::7].mean()
    assert boundary < 1.5 * d.mean()


def test_spectrum_knee_and_movement_modulation() -> None:
    """Independent welch analysis: slope steeper above the knee, high-gamma up, beta down."""
    cortex = VirtualCortex(_blocks("left_knee", 60.0), np.random.default_rng(3))
    x = cortex.read(int(60 * FS))
    rest = x[:, int(2 * FS) : int(30 * FS)]
    move = x[:, int(32 * FS) : int(60 * FS)]
    f, p_rest = signal.welch(rest, fs=FS, nperseg=1024)
    _, p_move = signal.welch(move, fs=FS, nperseg=1024)
    mean = p_rest.mean(axis=0)

    def slope(lo: float, hi: float) -> float:
        sel = (f >= lo) & (f <= hi)
        return float(np.polyfit(np.log10(f[sel]), np.log10(mean[sel]), 1)[0])

    assert slope(100, 200) < slope(3, 10) - 1.0
    tuned = [i for i, m in enumerate(cortex.info.channel_meta) if m["tuned_to"] == "left_knee"]
    assert tuned
    hg = (f >= 70) & (f <= 150)
    beta = (f >= 13) & (f <= 30)
    hg_ratio = p_move[tuned][:, hg].mean(axis=1) / p_rest[tuned][:, hg].mean(axis=1)
    beta_ratio = p_move[tuned][:, beta].mean(axis=1) / p_rest[tuned][:, beta].mean(axis=1)
    assert np.median(hg_ratio) >= 1.3
    assert np.median(beta_ratio) <= 0.8
    # Left leg -> right hemisphere: tuned contacts are on the right grid.
    assert all(cortex.info.channel_meta[i]["group"] == "right" for i in tuned)


def test_sim_ecog_state_changes_tuned_high_gamma() -> None:
    from openbsi.patient.cortex import sim_ecog

    rest = sim_ecog(20.0, FS, np.random.default_rng(0))
    move = sim_ecog(20.0, FS, np.random.default_rng(0), state="right_hip")
    assert rest.shape == move.shape == (64, int(20 * FS))
    cortex = VirtualCortex(_blocks("right_hip", 2.0), np.random.default_rng(0))
    tuned = [i for i, m in enumerate(cortex.info.channel_meta) if m["tuned_to"] == "right_hip"]
    f, p_rest = signal.welch(rest[tuned][:, int(FS) :], fs=FS, nperseg=512)
    _, p_move = signal.welch(move[tuned][:, int(FS) :], fs=FS, nperseg=512)
    hg = (f >= 70) & (f <= 150)
    assert np.median(p_move[:, hg].mean(axis=1) / p_rest[:, hg].mean(axis=1)) > 1.3
