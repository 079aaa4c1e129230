"""BIDS-iEEG export of a recording (mne-bids): ECoG as BrainVision + events + sidecars.

Events (events.tsv, from MNE annotations): "intent/<state>" and "phase/<name>" intervals,
"gait/<side>" and "gait/<side>/failed" steps, "safety/<rule>" events, "vetoed" commands.
Electrode positions are implant-grid coordinates (mm), not a standard brain space: they go to
electrodes.tsv with iEEGCoordinateSystem "Other" described in coordsystem.json.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np

from openbsi.store.nwb import read_nwb
from openbsi.store.session_data import SessionData

# WIMAGINE contacts: 2.3 mm diameter (facts.md "Recording"; Lorach et al. 2023) -> pi * 1.15^2
CONTACT_AREA_MM2 = float(np.pi * 1.15**2)
DEFAULT_LINE_FREQ_HZ = 50.0  # Lausanne (Lorach et al. 2023 site); override with --line-freq


def _label(text: str) -> str:
    """A BIDS entity label: alphanumerics only."""
    clean = re.sub(r"[^A-Za-z0-9]", "", text)
    if not clean:
        raise ValueError(f"a BIDS label needs at least one letter or digit, got {text!r}")
    return clean


def _annotations(data: SessionData) -> tuple[list[float], list[float], list[str]]:
    onsets: list[float] = []
    durations: list[float] = []
    labels: list[str] = []

    def add(onset: float, duration: float, label: str) -> None:
        onsets.append(float(onset))
        durations.append(max(float(duration), 0.0))
        labels.append(label)

    for e in data.intents:
        add(e["start_s"], e["stop_s"] - e["start_s"], f"intent/{e['state']}")
    for p in data.phases:
        add(p["start_s"], p["stop_s"] - p["start_s"], f"phase/{p['name']}")
    for g in data.gait_events:
        add(g["t_s"], 0.0, f"gait/{g['side']}" + ("/failed" if g["failed"] else ""))
    for s in data.safety_events:
        add(s["t_s"], 0.0, f"safety/{s['rule']}")
    for c in data.stim_commands:
        if c["vetoed"]:
            add(c["t_s"], 0.0, "vetoed")
    return onsets, durations, labels


def export_bids(
    nwb_path: Path,
    root: Path,
    *,
    subject: str = "01",
    session: str | None = None,
    task: str = "bsi",
    run: int | None = None,
    line_freq_hz: float = DEFAULT_LINE_FREQ_HZ,
) -> Path:
    """Write the recording as BIDS-iEEG under `root`; returns the data file's path."""
    import mne
    from mne_bids import BIDSPath, write_raw_bids

    if not 0 < line_freq_hz < 1000:
        raise ValueError(f"line_freq_hz must be in (0, 1000) Hz, got {line_freq_hz}")
    data = read_nwb(Path(nwb_path))
    if data.ecog.shape[0] == 0:
        raise ValueError(f"the recording {nwb_path} holds no ECoG samples to export")
    info = mne.create_info(list(data.info.channel_names), data.info.sfreq_hz, ch_types="ecog")
    info["line_freq"] = float(line_freq_hz)
    volts = data.ecog.T.astype(np.float64)  # MNE holds float64 volts: the one copy we make
    data.ecog = data.ecog[:0]
    volts *= 1e-6
    raw = mne.io.RawArray(volts, info, copy="auto", verbose="error")
    start = float(data.ecog_chunks.t_s[0]) if len(data.ecog_chunks) else 0.0
    onsets, durations, labels = _annotations(data)
    onset = np.asarray(onsets, dtype=float) - start
    span_s = raw.n_times / raw.info["sfreq"]
    keep = (onset >= 0) & (onset < span_s)  # events after the last sample cannot be placed
    if keep.any():
        clipped = np.minimum(np.asarray(durations, dtype=float)[keep], span_s - onset[keep])
        raw.set_annotations(
            mne.Annotations(
                onset[keep], clipped, [lab for lab, k in zip(labels, keep, strict=True) if k]
            )
        )
    bids_path = BIDSPath(
        subject=_label(subject),
        session=_label(session) if session else None,
        task=_label(task),
        run=run,
        datatype="ieeg",
        root=Path(root),
    )
    write_raw_bids(
        raw, bids_path, format="BrainVision", allow_preload=True, overwrite=True, verbose="error"
    )
    _write_grid(data, bids_path)
    return Path(bids_path.fpath)


def _write_grid(data: SessionData, bids_path: object) -> None:
    """electrodes.tsv (implant-grid mm, group, size) + coordsystem.json; fix ieeg.json."""
    folder = Path(bids_path.directory)  # type: ignore[attr-defined]
    metas = data.info.channel_meta or tuple({} for _ in data.info.channel_names)
    for path in folder.glob("*_electrodes.tsv"):
        with path.open("w", newline="") as f:
            writer = csv.writer(f, delimiter="\t", lineterminator="\n")
            writer.writerow(["name", "x", "y", "z", "size", "group"])
            for name, meta in zip(data.info.channel_names, metas, strict=True):
                writer.writerow(
                    [
                        name,
                        meta.get("x_mm", "n/a"),
                        meta.get("y_mm", "n/a"),
                        0.0 if "x_mm" in meta else "n/a",
                        f"{CONTACT_AREA_MM2:.2f}",
                        meta.get("group", "n/a"),
                    ]
                )
    for path in folder.glob("*_coordsystem.json"):
        path.write_text(
            json.dumps(
                {
                    "iEEGCoordinateSystem": "Other",
                    "iEEGCoordinateUnits": "mm",
                    "iEEGCoordinateSystemDescription": (
                        "implant grid: x mediolateral, y rostrocaudal, in mm from the first "
                        "contact of each implant (column 'group'); z = 0 on the grid plane"
                    ),
                },
                indent=4,
            )
        )
    for path in folder.glob("*_ieeg.json"):
        sidecar = json.loads(path.read_text())
        sidecar["Manufacturer"] = str(data.meta.get("manufacturer", "n/a"))  # not the format's
        sidecar["iEEGPlacementScheme"] = "epidural ECoG over the leg motor cortex"
        sidecar["iEEGGround"] = str(data.meta.get("ground", "n/a"))
        path.write_text(json.dumps(sidecar, indent=4))
