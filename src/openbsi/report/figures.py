"""The report's figures (matplotlib, Agg backend). Each function returns a Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from openbsi.report.metrics import hop_latencies_ms
from openbsi.states import STATE_INDEX, STATES
from openbsi.store.session_data import SessionData


def _empty(ax: plt.Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def confusion_figure(metrics: dict) -> Figure:
    """Row-normalised confusion matrix (intended x decoded), counts in the cells."""
    confusion = metrics["decoder"]["confusion"]
    counts = np.array(confusion["matrix"], dtype=float)
    labels = confusion["labels"]
    fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    image = ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
    for i, j in np.ndindex(counts.shape):
        if counts[i, j]:
            ax.text(
                j,
                i,
                f"{int(counts[i, j])}",
                ha="center",
                va="center",
                color="white" if share[i, j] > 0.5 else "black",
                fontsize=8,
            )
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("decoded state")
    ax.set_ylabel("intended state")
    accuracy = metrics["decoder"]["state_accuracy"]
    ax.set_title(
        f"Decoder ({metrics['decoder']['scope']}): accuracy "
        + (f"{accuracy:.1%}" if accuracy is not None else "n/a")
    )
    fig.colorbar(image, ax=ax, label="fraction of intended")
    return fig


def latency_figure(data: SessionData) -> Figure:
    """One histogram per hop, with p50 / p99 marked."""
    hops = hop_latencies_ms(data)
    fig, axes = plt.subplots(1, len(hops), figsize=(3.2 * len(hops), 2.8), layout="constrained")
    for ax, (hop, values) in zip(np.atleast_1d(axes), hops.items(), strict=True):
        if values.size == 0:
            _empty(ax, "no stamps")
        else:
            ax.hist(values, bins=40, color="tab:blue")
            for q, style in ((50, "-"), (99, "--")):
                ax.axvline(np.percentile(values, q), color="k", ls=style, lw=1, label=f"p{q}")
            ax.set_xlabel("ms")
            ax.legend(fontsize=7)
        ax.set_title(hop, fontsize=9)
    return fig


def stimulation_figure(data: SessionData) -> Figure:
    """Pulses per electrode over time, with the decoded state underneath."""
    fig, (ax_pulses, ax_state) = plt.subplots(
        2, 1, figsize=(10, 5), sharex=True, height_ratios=(3, 1), layout="constrained"
    )
    pulses = data.pulses
    if len(pulses):
        scatter = ax_pulses.scatter(
            pulses.t_s, pulses.electrode, c=pulses.amplitude_ma, s=4, marker="|", cmap="viridis"
        )
        fig.colorbar(scatter, ax=ax_pulses, label="amplitude (mA)")
    else:
        _empty(ax_pulses, "no pulses delivered")
    vetoed = [c["t_s"] for c in data.stim_commands if c["vetoed"]]
    if vetoed:
        ax_pulses.plot(vetoed, np.full(len(vetoed), -1), "rx", ms=4, label="vetoed command")
        ax_pulses.legend(fontsize=7, loc="upper right")
    n_electrodes = max([len(data.stim_electrodes), *(int(e) + 1 for e in pulses.electrode[:1])])
    ax_pulses.set_ylim(-1.5, max(n_electrodes, int(pulses.electrode.max(initial=0)) + 1) - 0.5)
    ax_pulses.yaxis.set_major_locator(MaxNLocator(integer=True))  # also when _empty() fixed it
    ax_pulses.set_ylabel("electrode")
    ax_pulses.set_title("Stimulation raster")
    if data.decodes:
        times = [d["t_s"] for d in data.decodes]
        index = [STATE_INDEX.get(d["state"], -1) for d in data.decodes]
        for event in data.intents:  # the intended state, underneath
            level = STATE_INDEX.get(event["state"], -1)
            ax_state.plot(
                [event["start_s"], event["stop_s"]],
                [level, level],
                color="0.6",
                lw=4,
                alpha=0.5,
                solid_capstyle="butt",
            )
        ax_state.step(times, index, where="post", color="tab:orange", lw=1)
        ax_state.set_xlim(min(times) - 0.5, max(times) + 0.5)
        ax_state.set_yticks(range(len(STATES)), STATES, fontsize=7)
    else:
        _empty(ax_state, "no decodes")
    ax_state.set_ylabel("decoded\n(grey: intended)", fontsize=8)
    ax_state.set_xlabel("session time (s)")
    return fig


def gait_figure(data: SessionData) -> Figure:
    """Joint angles (rad) and foot heights (m) over time, with step events."""
    fig, (ax_angle, ax_foot) = plt.subplots(
        2, 1, figsize=(10, 5), sharex=True, layout="constrained"
    )
    kin = data.kinematics
    times = kin.get("t_s")
    angles = [k for k in kin if k.endswith("_rad")]
    lengths = [k for k in kin if k.endswith("_m")]
    feet = [k for k in lengths if "height" in k or "clearance" in k] or lengths
    for ax, names, unit in ((ax_angle, angles, "angle (rad)"), (ax_foot, feet, "height (m)")):
        if times is None or not names:
            _empty(ax, "no kinematics")
            continue
        for name in names:
            ax.plot(times, kin[name], lw=0.8, label=name)
        ax.set_ylabel(unit)
        ax.legend(fontsize=7, loc="upper right")
    for event in data.gait_events:
        color = (
            "red" if event["failed"] else ("tab:green" if event["side"] == "left" else "tab:purple")
        )
        ax_foot.axvline(event["t_s"], color=color, lw=0.6, alpha=0.7)
    ax_angle.set_title("Gait (vertical lines: steps; red = failed)")
    ax_foot.set_xlabel("session time (s)")
    return fig
