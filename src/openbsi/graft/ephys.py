"""One entry point for a patch-clamp file: read, detect the protocol, analyse, verdict, figure."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from openbsi.graft.action_potentials import PEAK_THRESHOLD_MV, detect_spikes
from openbsi.graft.current_clamp import analyse_current_clamp
from openbsi.graft.ephys_io import Recording, read_recording
from openbsi.graft.maturity import maturity_verdict
from openbsi.graft.protocol import (
    CURRENT_CLAMP_STEPS,
    GAP_FREE,
    MEMBRANE_TEST,
    VOLTAGE_CLAMP_STEPS,
    Protocol,
    detect_protocol,
)
from openbsi.graft.voltage_clamp import analyse_iv, analyse_membrane_test


def _gap_free(recording: Recording, protocol: Protocol) -> dict:
    out: dict = {
        "protocol": GAP_FREE,
        "holding": protocol.holding,
        "duration_s": recording.n_sweeps * recording.response.shape[1] / recording.sample_rate_hz,
    }
    if recording.clamp_mode == "current_clamp":
        counts = [len(detect_spikes(v, recording.sample_rate_hz)) for v in recording.response]
        out["spikes"] = int(sum(counts))
        out["rate_hz"] = out["spikes"] / out["duration_s"]
        out["mean_potential_mv"] = float(np.mean(recording.response))
    else:
        out["mean_current_pa"] = float(np.mean(recording.response))
    return out


def analyse_recording(
    recording: Recording, *, day: float | None = None, peak_threshold_mv: float = PEAK_THRESHOLD_MV
) -> dict:
    """Features of a recording by its detected protocol, with the maturity verdict."""
    protocol = detect_protocol(recording)
    if protocol.kind == CURRENT_CLAMP_STEPS:
        result = analyse_current_clamp(recording, protocol, peak_threshold_mv=peak_threshold_mv)
    elif protocol.kind == VOLTAGE_CLAMP_STEPS:
        result = analyse_iv(recording, protocol)
    elif protocol.kind == MEMBRANE_TEST:
        result = analyse_membrane_test(recording, protocol)
    else:
        result = _gap_free(recording, protocol)
    result["file"] = recording.source
    result["clamp_mode"] = recording.clamp_mode
    result["n_sweeps"] = recording.n_sweeps
    result["sample_rate_hz"] = recording.sample_rate_hz
    result["protocol_name"] = recording.protocol_name
    result["comments"] = recording.comments
    features = dict(result)
    if protocol.kind == MEMBRANE_TEST:
        features = {
            "input_resistance_mohm": result["membrane_resistance_mohm"],
            "capacitance_pf": result["capacitance_pf"],
        }
    result["maturity"] = maturity_verdict(features, day) if protocol.kind != GAP_FREE else None
    return result


def analyse_file(
    path: str | os.PathLike[str],
    *,
    day: float | None = None,
    peak_threshold_mv: float = PEAK_THRESHOLD_MV,
) -> tuple[Recording, dict]:
    recording = read_recording(path)
    return recording, analyse_recording(recording, day=day, peak_threshold_mv=peak_threshold_mv)


def plot_recording(recording: Recording, result: dict, path: str | os.PathLike[str]) -> Path:
    """Sweeps with the detected events: AP thresholds/peaks, I-V windows or the test pulse."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_ms = recording.time_s() * 1e3
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 6), height_ratios=(3, 1), sharex=True)
    colours = plt.cm.viridis(np.linspace(0, 1, recording.n_sweeps))
    for sweep in range(recording.n_sweeps):
        ax.plot(t_ms, recording.response[sweep], lw=0.5, color=colours[sweep])
        ax2.plot(t_ms, recording.command[sweep], lw=0.7, color=colours[sweep])
    kind = result["protocol"]
    if kind == CURRENT_CLAMP_STEPS:
        w0, w1 = result["step_window_s"]
        i0, i1 = int(w0 * recording.sample_rate_hz), int(w1 * recording.sample_rate_hz)
        for sweep in range(recording.n_sweeps):
            spikes = detect_spikes(
                recording.response[sweep],
                recording.sample_rate_hz,
                start=i0,
                stop=i1,
                peak_threshold_mv=result.get("ap_peak_threshold_mv", PEAK_THRESHOLD_MV),
            )
            ax.plot(
                [t_ms[s.threshold_index] for s in spikes],
                [s.threshold_mv for s in spikes],
                "o",
                ms=2,
                color="tab:red",
                label="threshold" if sweep == 0 else None,
            )
            ax.plot(
                [t_ms[s.peak_index] for s in spikes],
                [s.peak_mv for s in spikes],
                "^",
                ms=2,
                color="black",
                label="peak" if sweep == 0 else None,
            )
        title = f"rheobase {result['rheobase_pa']} pA, max rate {result['max_rate_hz']} Hz"
    elif kind == VOLTAGE_CLAMP_STEPS:
        title = f"I-V: Na+ present {result['na_present']}, K+ present {result['k_present']}"
        if not result["activation_range_tested"]:
            title += f" (steps end at {result['max_step_mv']:g} mV: activation not tested)"
        w0, w1 = result["step_window_s"]
        ax.axvspan(w0 * 1e3, w1 * 1e3, color="tab:orange", alpha=0.12, label="analysed step")
        ax.legend(loc="upper right", fontsize=7)
        inset = ax.inset_axes((0.04, 0.06, 0.28, 0.34))  # the I-V, leak-subtracted
        rows = [r for r in result["iv"] if r["leak_subtracted"]]
        steps = [r["step_mv"] for r in rows]
        inset.plot(
            steps, [r["inward_peak_pa"] for r in rows], "v-", ms=3, lw=0.8, label="inward peak"
        )
        inset.plot(
            steps,
            [r["outward_steady_pa"] for r in rows],
            "^-",
            ms=3,
            lw=0.8,
            label="outward steady",
        )
        inset.axhline(0, color="grey", lw=0.5)
        inset.set_xlabel("step (mV)", fontsize=6)
        inset.set_ylabel("pA", fontsize=6)
        inset.tick_params(labelsize=5)
        inset.legend(fontsize=5)
    elif kind == MEMBRANE_TEST:

        def fmt(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.1f}"

        title = (
            f"membrane test: Ra {fmt(result['access_resistance_mohm'])} MOhm, "
            f"Rm {fmt(result['membrane_resistance_mohm'])} MOhm, "
            f"Cm {fmt(result['capacitance_pf'])} pF"
        )
    else:
        title = "gap-free"
    maturity = result.get("maturity") or {}
    if maturity.get("benchmark"):
        title += f"\nmaturity: {maturity['verdict']} vs {maturity['benchmark']}"
    ax.set_title(f"{Path(recording.source).name}: {title}", fontsize=9)
    ax.set_ylabel(recording.response_unit)
    ax2.set_ylabel(recording.command_unit)
    ax2.set_xlabel("time in sweep (ms)")
    if kind == CURRENT_CLAMP_STEPS:
        ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
