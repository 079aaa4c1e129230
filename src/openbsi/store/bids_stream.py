"""Streaming pieces of the BIDS export: BrainVision written slab by slab from the NWB, and the
decodes, commands and pulses as a BIDS derivative (events TSV + JSON sidecars).

Memory stays at one slab (BIDS_SLAB_ROWS samples x channels) however long the recording: the
samples never all sit in RAM, and mne-bids copies a BrainVision file it is given instead of
converting it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

BIDS_SLAB_ROWS = 16_384  # samples per read/write (64 ch: 4 MB of float32)


def write_brainvision(
    nwb_series: Any, names: tuple[str, ...], sfreq_hz: float, folder: Path, stem: str
) -> Path:
    """acquisition/ECoG -> stem.vhdr / .vmrk / .eeg (float32 microvolts, multiplexed)."""
    folder.mkdir(parents=True, exist_ok=True)
    eeg, vhdr, vmrk = (folder / f"{stem}{ext}" for ext in (".eeg", ".vhdr", ".vmrk"))
    scale = float(nwb_series.conversion) / 1e-6  # stored -> uV
    data = nwb_series.data
    n_rows = int(data.shape[0])
    with eeg.open("wb") as out:
        for start in range(0, n_rows, BIDS_SLAB_ROWS):
            slab = np.asarray(data[start : start + BIDS_SLAB_ROWS], dtype="<f4")
            if scale != 1.0:
                slab = (slab * scale).astype("<f4")
            out.write(np.ascontiguousarray(slab).tobytes())
    channels = "\n".join(f"Ch{i + 1}={name},,1,µV" for i, name in enumerate(names))
    vhdr.write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n"
        "; written by OpenBSI (streamed from the NWB recording)\n\n"
        "[Common Infos]\nCodepage=UTF-8\n"
        f"DataFile={eeg.name}\nMarkerFile={vmrk.name}\n"
        "DataFormat=BINARY\nDataOrientation=MULTIPLEXED\n"
        f"NumberOfChannels={len(names)}\n"
        f"SamplingInterval={1e6 / sfreq_hz!r}\n\n"
        "[Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n\n"
        f"[Channel Infos]\n{channels}\n",
        encoding="utf-8",
    )
    vmrk.write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n\n"
        f"[Common Infos]\nCodepage=UTF-8\nDataFile={eeg.name}\n\n"
        "[Marker Infos]\nMk1=New Segment,,1,1,0\n",
        encoding="utf-8",
    )
    return vhdr


_DERIVATIVE_COLUMNS = {
    "decodes": {
        "onset": "seconds from the first ECoG sample",
        "duration": "0: an instant",
        "trial_type": "'decode'",
        "state": "decoded state",
        "amplitude": "decoded amplitude, 0..1",
    },
    "commands": {
        "onset": "seconds from the first ECoG sample",
        "duration": "0: an instant",
        "trial_type": "'command'",
        "seq": "command sequence number",
        "state": "state the command serves",
        "vetoed": "refused by the safety supervisor",
        "clamped": "reduced to the limits",
        "electrodes": "stimulated electrodes, comma-separated",
        "amplitude_ma": "amplitudes in mA, comma-separated, one per electrode",
    },
    "pulses": {
        "onset": "seconds from the first ECoG sample",
        "duration": "pulse width (one phase), s",
        "trial_type": "'pulse'",
        "electrode": "stimulation electrode index",
        "amplitude_ma": "amplitude, mA",
    },
}


def write_derivative(
    data: Any, derivatives: Path, relative: Path, stem: str, start_s: float, version: str
) -> list[Path]:
    """derivatives/openbsi/<subject/session/ieeg>/<stem>_desc-<kind>_events.tsv + .json."""
    folder = derivatives / relative
    folder.mkdir(parents=True, exist_ok=True)
    description = derivatives / "dataset_description.json"
    if not description.exists():
        description.write_text(
            json.dumps(
                {
                    "Name": "OpenBSI closed-loop events",
                    "BIDSVersion": "1.9.0",
                    "DatasetType": "derivative",
                    "GeneratedBy": [{"Name": "OpenBSI", "Version": version or "n/a"}],
                },
                indent=4,
            )
        )
    written = []
    rows = {
        "decodes": (
            (e["t_s"] - start_s, 0.0, "decode", e["state"], e["amplitude"]) for e in data.decodes
        ),
        "commands": (
            (
                c["t_s"] - start_s,
                0.0,
                "command",
                c["seq"],
                c["state"],
                c["vetoed"],
                c["clamped"],
                ",".join(str(ch["electrode"]) for ch in c["channels"]),
                ",".join(f"{ch['amplitude_ma']:g}" for ch in c["channels"]),
            )
            for c in data.stim_commands
        ),
        "pulses": (
            (t - start_s, w * 1e-6, "pulse", int(e), a)
            for t, e, a, w in zip(
                data.pulses.t_s,
                data.pulses.electrode,
                data.pulses.amplitude_ma,
                data.pulses.pulse_width_us,
                strict=True,
            )
        ),
    }
    for kind, columns in _DERIVATIVE_COLUMNS.items():
        tsv = folder / f"{stem}_desc-{kind}_events.tsv"
        with tsv.open("w", newline="") as f:
            writer = csv.writer(f, delimiter="\t", lineterminator="\n")
            writer.writerow(list(columns))
            for row in rows[kind]:
                writer.writerow(
                    [
                        f"{v:.6f}"
                        if isinstance(v, float)
                        else str(v).lower()
                        if isinstance(v, bool)
                        else v
                        for v in row
                    ]
                )
        sidecar = tsv.with_suffix(".json")
        sidecar.write_text(
            json.dumps({k: {"Description": v} for k, v in columns.items()}, indent=4)
        )
        written += [tsv, sidecar]
    return written
