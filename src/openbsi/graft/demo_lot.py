"""A complete synthetic lot on disk (manifest, FCS + panel, NWB patch-clamp, qPCR CSV).

For tests, benchmarks, docs and `openbsi graft example`: every value is in the default spec
unless an override moves it out, so each criterion's failure can be provoked alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import yaml

from openbsi.graft.ephys_io import write_nwb_icephys
from openbsi.graft.fcs import write_fcs
from openbsi.graft.synthetic import (
    VIABILITY_CHANNEL,
    sim_current_clamp_steps,
    sim_flow_events,
    sim_voltage_clamp_steps,
)

# marker -> fraction positive in an in-spec lot (assumption: a plausible good lot)
IN_SPEC_FRACTIONS = {
    "SOX1": 0.96,
    "PSA-NCAM": 0.95,
    "OCT4": 0.0,
    "TRA-1-60": 0.0,
    "DBX1": 0.18,
    "EVX1": 0.15,
    "FOXN4": 0.12,
    "VSX2": 0.10,
    "HOXB4": 0.80,
}
V0_V2_MARKERS = ("DBX1", "EVX1", "FOXN4", "VSX2")


def write_demo_lot(
    out_dir: str | os.PathLike[str],
    *,
    rng: np.random.Generator,
    lot_id: str = "LOT-DEMO-001",
    harvest_day: float = 10.0,
    fractions: dict[str, float] | None = None,
    n_events: int = 40_000,
    endotoxin_eu_per_ml: float = 0.5,
    viability_percent: float = 92.0,
    with_na_k: bool = True,
    drop_assays: tuple[str, ...] = (),
) -> Path:
    """Write the lot's files into `out_dir` and return the manifest path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fractions = {**IN_SPEC_FRACTIONS, **(fractions or {})}
    spill = np.eye(len(fractions))
    spill[0, 1] = 0.12  # SOX1's dye spills into PSA-NCAM's channel (compensation must undo it)
    spill[4, 5] = 0.08
    names = list(fractions)
    events, channels = sim_flow_events(
        rng=rng, n_events=n_events, marker_fractions=fractions, spillover=spill
    )
    write_fcs(out / "lot.fcs", events, channels, spillover=(names, spill))
    # twice the lot's events: an above-every-control-event threshold then lets through about
    # n_lot / (n_control + 1) = 0.5 negative events, well inside a 0.01 % limit
    control, _ = sim_flow_events(
        rng=rng, n_events=2 * n_events, marker_fractions=dict.fromkeys(names, 0.0), spillover=spill
    )
    write_fcs(out / "isotype.fcs", control, channels, spillover=(names, spill))
    impurity = {"OCT4", "TRA-1-60"}
    panel = {
        "panel": "spinal-progenitor-identity",
        "version": "1",
        "scatter": {"fsc_area": "FSC-A", "ssc_area": "SSC-A", "fsc_height": "FSC-H"},
        "viability": {"channel": VIABILITY_CHANNEL, "threshold": 3000.0},
        "controls": {"isotype": "isotype.fcs"},
        # impurities: above every control event (the 0.01 % limits need a strict threshold)
        "markers": [
            {
                "name": n,
                "channel": n,
                "control": "isotype",
                "percentile": 100.0 if n in impurity else 99.5,
            }
            for n in names
        ],
        "combinations": {"V0_V2": {"any_of": list(V0_V2_MARKERS)}},
    }
    (out / "panel.yaml").write_text(yaml.safe_dump(panel, sort_keys=False))
    vc = sim_voltage_clamp_steps(
        rng=rng, na_peak_pa=300.0 if with_na_k else 0.0, k_steady_pa=400.0 if with_na_k else 0.0
    )
    write_nwb_icephys(vc, out / "cell1_vc.nwb")
    ic = sim_current_clamp_steps(rng=rng, steps_pa=np.arange(-20.0, 61.0, 20.0))
    write_nwb_icephys(ic, out / "sister_ic.nwb")
    ct = ["sample,gene,ct"]
    for sample, values in (
        (lot_id, {"GAPDH": 18.0, "ACTB": 19.0, "SOX1": 25.0, "PAX6": 23.0, "OCT4": None}),
        ("iPSC", {"GAPDH": 18.2, "ACTB": 19.1, "SOX1": 33.0, "PAX6": 34.0, "OCT4": 20.0}),
    ):
        for gene, value in values.items():
            for _ in range(3):  # triplicates
                text = "Undetermined" if value is None else f"{value + rng.normal(0, 0.1):.2f}"
                ct.append(f"{sample},{gene},{text}")
    (out / "qpcr.csv").write_text("\n".join(ct) + "\n")
    assays = [
        {
            "id": "ephys-1",
            "kind": "ephys",
            "aliquot": "A1",
            "files": ["cell1_vc.nwb"],
            "culture": "lot",
        },
        {
            "id": "ephys-2",
            "kind": "ephys",
            "aliquot": "A2",
            "files": ["sister_ic.nwb"],
            "culture": "sister",
            "culture_day": 35,
        },
        {
            "id": "flow-1",
            "kind": "flow",
            "aliquot": "A3",
            "files": ["lot.fcs"],
            "panel": "panel.yaml",
        },
        {
            "id": "qpcr-1",
            "kind": "qpcr",
            "aliquot": "A4",
            "file": "qpcr.csv",
            "sample": lot_id,
            "calibrator": "iPSC",
            "reference_genes": ["GAPDH", "ACTB"],
        },
        {
            "id": "karyotype-1",
            "kind": "karyotype",
            "aliquot": "A5",
            "normal_fraction": 0.95,
            "clonal_abnormality": False,
            "tetraploid_fraction": 0.01,
        },
        {"id": "sterility-1", "kind": "sterility", "aliquot": "A6", "result": "negative"},
        {"id": "mycoplasma-1", "kind": "mycoplasma", "aliquot": "A7", "result": "negative"},
        {
            "id": "endotoxin-1",
            "kind": "endotoxin",
            "aliquot": "A8",
            "eu_per_ml": endotoxin_eu_per_ml,
        },
        {"id": "viability-1", "kind": "viability", "aliquot": "A9", "percent": viability_percent},
    ]
    assays = [a for a in assays if a["id"] not in drop_assays]
    used = {a["aliquot"]: a["id"] for a in assays}
    aliquots = [
        {"id": f"A{k}", "cells": 2.0e5, "consumed_by": used.get(f"A{k}")} for k in range(1, 10)
    ]
    aliquots.append({"id": "A10", "cells": 3.0e6, "consumed_by": None})  # the dose
    manifest = {
        "lot": lot_id,
        "cell_line": "iPSC-SYN-01 (synthetic)",
        "donor": {"id": "P-0001", "autologous": True},
        "differentiation_start": "2026-11-01",
        "harvest_day": harvest_day,
        "media": [
            {"name": "neural induction (dual SMAD)", "from_day": 0, "to_day": 4},
            {"name": "caudalising (RA + CHIR)", "from_day": 4, "to_day": harvest_day},
        ],
        "aliquots": aliquots,
        "assays": assays,
    }
    path = out / "lot.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path
