"""Figure of a flow analysis: scatter with the debris floor, each marker against its threshold."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from openbsi.graft.fcs import read_fcs
from openbsi.graft.flow import Panel, compensate, gate


def plot_flow(
    path: str | os.PathLike[str],
    panel: Panel,
    result: dict,
    out: str | os.PathLike[str],
    *,
    max_markers: int = 8,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    sample = read_fcs(path)
    events = compensate(sample) if panel.compensation == "file" else sample.events
    gated, counts = gate(sample, panel, viability_threshold=result["viability_threshold"])
    markers = [m for m in result["markers"] if "channel" in m][:max_markers]
    n_panels = 1 + len(markers)
    cols = min(n_panels, 3)
    rows = int(np.ceil(n_panels / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    ax = axes[0, 0]
    fsc = events[:, sample.index(panel.fsc_area)]
    ssc = events[:, sample.index(panel.ssc_area)]
    keep = (fsc > 0) & (ssc > 0)
    ax.hexbin(
        fsc[keep], ssc[keep], gridsize=60, bins="log", xscale="log", yscale="log", cmap="viridis"
    )
    ax.axvline(counts["debris_fsc_min"], color="tab:red", lw=1)
    ax.set_xlabel(panel.fsc_area, fontsize=7)
    ax.set_ylabel(panel.ssc_area, fontsize=7)
    ax.set_title(f"{counts['total']} events, {counts['gated']} gated", fontsize=8)
    for k, row in enumerate(markers, start=1):
        ax = axes[k // cols, k % cols]
        values = gated[:, sample.index(row["channel"])]
        positive = values[values > 0]
        if positive.size:
            bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()), 80)
            ax.hist(positive, bins=bins, color="tab:blue", alpha=0.8)
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.axvline(row["threshold"], color="tab:red", lw=1)
        title = f"{row['marker']}: n/a (no gated events)"
        if row["fraction"] is not None:
            title = (
                f"{row['marker']}: {100 * row['fraction']:.2f} % "
                f"[{100 * row['ci_low']:.2f}, {100 * row['ci_high']:.2f}]"
            )
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=6)
    for k in range(n_panels, rows * cols):
        axes[k // cols, k % cols].axis("off")
    fig.suptitle(f"{Path(path).name} — panel {panel.name} v{panel.version}", fontsize=9)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
