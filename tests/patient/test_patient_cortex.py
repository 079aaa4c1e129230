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


def _alternating(state: str, n_pairs: int = 10, block_s: float = 4.0) -> IntentScript:
    blocks, t = [], 0.0
    for _ in range(n_pairs):
        blocks.append(IntentBlock(t, t + block_s, "rest", 0.0))
        blocks.append(IntentBlock(t + block_s, t + 2 * block_s, state, 1.0))
        t += 2 * block_s
    return IntentScript(tuple(blocks))


def _band_change(cortex: VirtualCortex, script: IntentScript, lo_hz: float, hi_hz: float):
    """Per channel: log(power while moving / power at rest) in [lo_hz, hi_hz] (Welch), the
    first second of each block left out (reaction time and ramp)."""
    x = cortex.read(round(script.duration_s * FS))

    def power(moving: bool) -> np.ndarray:
        parts = [
            x[:, round((b.start_s + 1.0) * FS) : round(b.stop_s * FS)]
            for b in script.blocks
            if (b.state != "rest") == moving
        ]
        f, p = signal.welch(np.concatenate(parts, axis=1), fs=FS, nperseg=512)
        return p[:, (f >= lo_hz) & (f <= hi_hz)].mean(axis=1)

    return np.log(power(True) / power(False))


def test_beta_leaves_high_gamma_alone():
    """The beta generator's 70-150 Hz power is < 1 % of the rest ECoG's (it was 53 %)."""
    from openbsi.patient import cortex_sim

    rng = np.random.default_rng(0)
    beta = cortex_sim.sim_beta(100.0, FS, rng)
    background = cortex_sim.sim_knee_aperiodic(100.0, FS, rng)
    f, p_beta = signal.welch(20.0 * beta[0], fs=FS, nperseg=1024)  # profile: beta_uv, bg_uv
    _, p_bg = signal.welch(25.0 * background[0], fs=FS, nperseg=1024)
    hg = (f >= 70) & (f <= 150)
    assert p_beta[hg].sum() / (p_beta[hg].sum() + p_bg[hg].sum()) < 0.01
    beta_band = (f >= 13) & (f <= 30)
    assert p_beta[beta_band].sum() > 0.8 * p_beta.sum()  # still a beta rhythm


@pytest.mark.parametrize("state", ["left_knee", "right_ankle"])
def test_high_gamma_rises_where_tuned_and_moves_against_beta(state):
    """Real ECoG (Miller 2012): high gamma up where tuned, beta down; across channels the two
    changes are not positively correlated (they were: high gamma was half beta's skirt)."""
    script = _alternating(state)
    cortex = VirtualCortex(script, np.random.default_rng(7))
    d_hg = _band_change(cortex, script, 70.0, 150.0)
    cortex = VirtualCortex(script, np.random.default_rng(7))  # the same ECoG again
    d_beta = _band_change(cortex, script, 13.0, 30.0)
    tuned = np.array([m["tuned_to"] == state for m in cortex.info.channel_meta])
    assert np.exp(np.median(d_hg[tuned])) >= 1.5
    assert np.median(d_hg[~tuned]) > -0.05  # elsewhere it does not fall (noise aside)
    assert np.all(d_beta < 0)  # beta desynchronises on every channel
    assert np.corrcoef(d_beta, d_hg)[0, 1] < 0.0
    # the model itself: broadband gain never below 1, anywhere, at any time
    hg_gain, _ = cortex.envelopes(np.arange(0.0, script.duration_s, 0.05))
    assert hg_gain.min() >= 1.0
