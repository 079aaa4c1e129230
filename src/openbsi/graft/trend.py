"""Uniformity across lots: individuals / moving-range (I-MR) charts, CV and out-of-trend rules.

Limits (Montgomery, Introduction to Statistical Quality Control, I-MR chart): sigma estimated as
mean moving range / d2 with d2 = 1.128 for ranges of 2; individuals limits mean +- 3 sigma;
moving-range upper limit D4 * mean MR with D4 = 3.267. Rules (Nelson 1984, J Qual Technol
16:237): 1 a point beyond 3 sigma; 2 nine points in a row on one side of the centre; 3 six
points in a row steadily rising or falling; 5 two of three beyond 2 sigma on the same side;
and a moving range above its limit.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from openbsi.graft.lots import load_lot
from openbsi.graft.release import evaluate_release
from openbsi.graft.spec import load_spec
from openbsi.inputs import InputError

D2 = 1.128
D4 = 3.267
MIN_LOTS = 3


def lot_attributes(paths: list[str | os.PathLike[str]], spec_path=None) -> dict:
    """Each lot's numeric criterion values (None where not computable), in the order given."""
    if not paths:
        raise InputError("trend", "lots", "needs lot manifests", limit=f">= {MIN_LOTS}", value=0)
    spec = load_spec(spec_path)
    lots, table = [], {}
    for path in paths:
        result = evaluate_release(load_lot(path), spec)
        lots.append(result["lot"])
        for row in result["criteria"]:
            value = row["value"]
            number = (
                value if isinstance(value, int | float) and not isinstance(value, bool) else None
            )
            if row["measure"].startswith("flow_fraction:") and row["detail"]:
                number = row["detail"].get("estimate", number)
            table.setdefault(row["name"], []).append(number)
    numeric = {k: v for k, v in table.items() if any(x is not None for x in v)}
    return {"lots": lots, "values": numeric, "spec_version": spec.version}


def imr_chart(values: list[float | None]) -> dict:
    """Centre, limits, CV and rule signals of one attribute (missing values are skipped)."""
    index = [i for i, v in enumerate(values) if v is not None]
    x = np.array([values[i] for i in index], dtype=float)
    out: dict = {
        "n": int(x.size),
        "mean": None,
        "sd": None,
        "cv": None,
        "ucl": None,
        "lcl": None,
        "mr_mean": None,
        "mr_ucl": None,
        "signals": [],
    }
    if x.size < 2:
        return out
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    mr = np.abs(np.diff(x))
    mr_mean = float(mr.mean())
    sigma = mr_mean / D2
    out.update(
        mean=mean,
        sd=sd,
        cv=sd / abs(mean) if mean != 0 else None,
        mr_mean=mr_mean,
        ucl=mean + 3 * sigma,
        lcl=mean - 3 * sigma,
        mr_ucl=D4 * mr_mean,
        sigma=sigma,
    )
    signals = []

    def add(rule: str, k: int) -> None:
        signals.append({"rule": rule, "index": index[k]})

    if sigma > 0:
        z = (x - mean) / sigma
        for k in np.flatnonzero(np.abs(z) > 3):
            add("beyond_3_sigma", int(k))
        for k in range(2, x.size):
            window = z[k - 2 : k + 1]
            for side in (1, -1):
                if np.sum(side * window > 2) >= 2 and side * z[k] > 2:
                    add("2_of_3_beyond_2_sigma", k)
        for k in np.flatnonzero(mr > D4 * mr_mean):
            add("moving_range_above_limit", int(k) + 1)
    side = np.sign(x - mean)
    run = 1
    for k in range(1, x.size):
        run = run + 1 if side[k] == side[k - 1] and side[k] != 0 else 1
        if run == 9:
            add("9_on_one_side", k)
    step = np.sign(np.diff(x))
    run = 1
    for k in range(1, step.size):
        run = run + 1 if step[k] == step[k - 1] and step[k] != 0 else 1
        if run == 5:  # five equal-signed steps = six points steadily rising or falling
            add("6_trending", k + 1)
    out["signals"] = signals
    return out


def trend_report(table: dict) -> dict:
    """An I-MR chart per attribute; signals name the lot."""
    lots = table["lots"]
    attributes = {}
    for name, values in table["values"].items():
        chart = imr_chart(values)
        for signal in chart["signals"]:
            signal["lot"] = lots[signal["index"]]
        attributes[name] = chart
    return {
        "lots": lots,
        "spec_version": table["spec_version"],
        "enough_lots": len(lots) >= MIN_LOTS,
        "attributes": attributes,
        "out_of_trend": sorted({s["lot"] for c in attributes.values() for s in c["signals"]}),
    }


def plot_trend(
    table: dict, report: dict, path: str | os.PathLike[str], *, max_panels: int = 8
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charted = [n for n, c in report["attributes"].items() if c["n"] >= 2]
    # attributes with a signal first, so a flagged one is never cut off
    names = sorted(charted, key=lambda n: not report["attributes"][n]["signals"])[:max_panels]
    rows = max(len(names), 1)
    fig, axes = plt.subplots(rows, 1, figsize=(8, 1.5 * rows + 0.8), squeeze=False, sharex=True)
    x = np.arange(len(table["lots"]))
    for ax, name in zip(axes[:, 0], names, strict=False):
        chart = report["attributes"][name]
        y = np.array([np.nan if v is None else v for v in table["values"][name]], dtype=float)
        ax.plot(x, y, "o-", ms=3, lw=1)
        for level, style in ((chart["mean"], "-"), (chart["ucl"], "--"), (chart["lcl"], "--")):
            ax.axhline(level, ls=style, color="grey", lw=0.8)
        flagged = sorted({s["index"] for s in chart["signals"]})
        ax.plot(x[flagged], y[flagged], "o", color="tab:red", ms=6, mfc="none")
        ax.set_ylabel(name, fontsize=7)
    axes[-1, 0].set_xticks(x, table["lots"], rotation=45, fontsize=6, ha="right")
    fig.suptitle(
        "individuals charts (mean, +-3 sigma from the moving range); red = rule signal", fontsize=8
    )
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
