"""`openbsi bench graft`: the speed bars of graft QC, measured with the machine's load."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import yaml

from openbsi.bench.common import load_average, repeat_timed
from openbsi.graft.ephys import analyse_file
from openbsi.graft.fcs import write_fcs
from openbsi.graft.flow import analyse_flow, load_panel
from openbsi.graft.synthetic import VIABILITY_CHANNEL, sim_flow_events

ABF_BAR_S = 0.5  # issue #15: a 20-sweep ABF analysed in <= 0.5 s
FCS_BAR_S = 1.0  # issue #15: a 100,000-event FCS file gated in <= 1 s
DATA_DIRS = (
    Path(__file__).resolve().parents[4] / "shared" / "data" / "abf",
    Path("/work/shared/data/abf"),
)


def _abf(name: str) -> Path | None:
    for folder in DATA_DIRS:
        if (folder / name).is_file():
            return folder / name
    return None


def run_bench(*, repeats: int = 5, seed: int = 0) -> dict:
    cases = {}
    for name, label in (
        ("model_vc_step.abf", "20-sweep ABF (membrane test, real)"),
        ("18711001.abf", "30-sweep ABF (current-clamp f-I, real)"),
    ):
        path = _abf(name)
        if path is None:
            cases[name] = {
                "what": label,
                "median_s": None,
                "pass": None,
                "bar_s": ABF_BAR_S,
                "repeats": 0,
                "note": "shared/data/abf absent",
            }
            continue
        times = repeat_timed(lambda p=path: analyse_file(p), repeats)["wall_s"]
        cases[name] = {
            "what": f"{label}: read + protocol + features",
            "median_s": float(np.median(times)),
            "max_s": float(np.max(times)),
            "bar_s": ABF_BAR_S,
            "repeats": repeats,
            "pass": bool(np.median(times) <= ABF_BAR_S),
        }
    rng = np.random.default_rng(seed)
    markers = {
        "SOX1": 0.95,
        "PSA-NCAM": 0.93,
        "OCT4": 0.0,
        "TRA-1-60": 0.0,
        "DBX1": 0.2,
        "VSX2": 0.1,
    }
    spill = np.eye(len(markers))
    spill[0, 1] = 0.1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        events, channels = sim_flow_events(
            rng=rng, n_events=100_000, marker_fractions=markers, spillover=spill
        )
        write_fcs(folder / "lot.fcs", events, channels, spillover=(list(markers), spill))
        control, _ = sim_flow_events(
            rng=rng, n_events=100_000, marker_fractions=dict.fromkeys(markers, 0.0), spillover=spill
        )
        write_fcs(folder / "isotype.fcs", control, channels, spillover=(list(markers), spill))
        panel = {
            "panel": "bench",
            "version": "1",
            "scatter": {"fsc_area": "FSC-A", "ssc_area": "SSC-A", "fsc_height": "FSC-H"},
            "viability": {"channel": VIABILITY_CHANNEL, "threshold": 3000.0},
            "controls": {"isotype": "isotype.fcs"},
            "markers": [{"name": m, "channel": m, "control": "isotype"} for m in markers],
        }
        (folder / "panel.yaml").write_text(yaml.safe_dump(panel))
        loaded = load_panel(folder / "panel.yaml")
        times = repeat_timed(lambda: analyse_flow(folder / "lot.fcs", loaded), repeats)["wall_s"]
    cases["fcs_100k"] = {
        "what": "100,000-event FCS (+ 100,000-event control): read, compensate, "
        "gate, 6 markers with CIs",
        "median_s": float(np.median(times)),
        "max_s": float(np.max(times)),
        "bar_s": FCS_BAR_S,
        "repeats": repeats,
        "pass": bool(np.median(times) <= FCS_BAR_S),
    }
    return {
        "benchmark": "graft",
        "cases": cases,
        "load_average": load_average(),
        "cpus": os.cpu_count(),
        "pass": all(c["pass"] for c in cases.values() if c["pass"] is not None),
    }
