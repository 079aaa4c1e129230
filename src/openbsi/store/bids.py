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

from openbsi.store.ecog_segments import ecog_series
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
    """Write the recording as BIDS-iEEG under `root`; returns the data file's path.

    The samples are streamed (bids_stream.write_brainvision into a staging folder inside
    `root`, then copied by mne-bids); decodes, commands and pulses go to
    derivatives/openbsi as events files.
    """
    import shutil
    import uuid

    import mne
    from mne_bids import BIDSPath, write_raw_bids
    from pynwb import NWBHDF5IO

    from openbsi.store.bids_stream import write_brainvision, write_derivative

    if not 0 < line_freq_hz < 1000:
        raise ValueError(f"line_freq_hz must be in (0, 1000) Hz, got {line_freq_hz}")
    data = read_nwb(Path(nwb_path), load_ecog=False)
    if data.n_ecog_samples == 0:
        raise ValueError(f"the recording {nwb_path} holds no ECoG samples to export")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".openbsi-staging-{uuid.uuid4().hex[:8]}"  # inside the target, removed
    try:
        with NWBHDF5IO(str(nwb_path), "r") as io:
            segments = ecog_series(io.read().acquisition)
            if len(segments) > 1:  # BIDS runs are uninterrupted: a break gets its own export
                raise ValueError(
                    f"the recording {nwb_path} holds {len(segments)} ECoG segments (breaks in "
                    "the stream); BIDS export of a broken recording is not supported yet"
                )
            vhdr = write_brainvision(
                segments[0], data.info.channel_names, data.info.sfreq_hz, staging, "recording"
            )
        raw = mne.io.read_raw_brainvision(vhdr, preload=False, verbose="error")
        raw.set_channel_types({name: "ecog" for name in raw.ch_names}, verbose="error")
        raw.info["line_freq"] = float(line_freq_hz)
        _set_subject(raw, data)
        start = float(data.ecog_chunks.t_s[0]) if len(data.ecog_chunks) else 0.0
        _annotate(raw, data, start)
        bids_path = BIDSPath(
            subject=_label(subject),
            session=_label(session) if session else None,
            task=_label(task),
            run=run,
            datatype="ieeg",
            root=root,
        )
        write_raw_bids(raw, bids_path, format="BrainVision", overwrite=True, verbose="error")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _write_grid(data, bids_path)
    _write_participant(data, root, bids_path)
    relative = Path(bids_path.directory).relative_to(root)  # type: ignore[attr-defined]
    write_derivative(
        data,
        root / "derivatives" / "openbsi",
        relative,
        bids_path.copy().update(suffix=None, extension=None).basename,  # type: ignore[attr-defined]
        start,
        data.software_version,
    )
    return Path(bids_path.fpath)


def _annotate(raw: object, data: SessionData, start: float) -> None:
    import mne

    onsets, durations, labels = _annotations(data)
    onset = np.asarray(onsets, dtype=float) - start
    span_s = raw.n_times / raw.info["sfreq"]  # type: ignore[attr-defined]
    keep = (onset >= 0) & (onset < span_s)  # events after the last sample cannot be placed
    if keep.any():
        clipped = np.minimum(np.asarray(durations, dtype=float)[keep], span_s - onset[keep])
        raw.set_annotations(  # type: ignore[attr-defined]
            mne.Annotations(
                onset[keep], clipped, [lab for lab, k in zip(labels, keep, strict=True) if k]
            )
        )


_SEX_CODES = {"M": 1, "F": 2}  # MNE subject_info sex: 0 unknown, 1 male, 2 female


def _set_subject(raw: object, data: SessionData) -> None:
    subject = data.subject or {}
    info: dict = {"his_id": str(subject.get("subject_id", "n/a"))}
    info["sex"] = _SEX_CODES.get(str(subject.get("sex", "U")), 0)
    raw.info["subject_info"] = info  # type: ignore[attr-defined]


def _age_years(age: str) -> str:
    """ "P38Y" -> "38"; ranges and other forms -> "n/a" (BIDS wants a number)."""
    match = re.fullmatch(r"P(\d+)Y.*", age or "")
    return match.group(1) if match and "/" not in age else "n/a"


def _write_participant(data: SessionData, root: Path, bids_path: object) -> None:
    """participants.tsv: the subject's age and sex as recorded (mne-bids leaves them n/a)."""
    path = root / "participants.tsv"
    if not path.exists():
        return
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows:
        return
    fields = list(rows[0])
    for key in ("age", "sex", "species"):
        if key not in fields:
            fields.append(key)
    subject = data.subject or {}
    me = f"sub-{bids_path.subject}"  # type: ignore[attr-defined]
    for row in rows:
        if row.get("participant_id") == me:
            row["age"] = _age_years(str(subject.get("age", "")))
            row["sex"] = {"M": "M", "F": "F", "O": "O"}.get(str(subject.get("sex")), "n/a")
            row["species"] = str(subject.get("species", "homo sapiens")).lower()
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fields, delimiter="\t", lineterminator="\n", restval="n/a")
        writer.writeheader()
        writer.writerows(rows)


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
        sidecar["iEEGReference"] = str(data.meta.get("reference", "n/a"))
        sidecar["ElectrodeManufacturer"] = str(data.meta.get("electrode_manufacturer", "n/a"))
        sidecar["SoftwareFilters"] = "n/a"  # the recording holds the samples as acquired
        sidecar["SoftwareVersions"] = f"OpenBSI {data.software_version or 'n/a'}"
        sidecar["InstitutionName"] = data.study.get("institution") or "n/a"
        sidecar["TaskDescription"] = data.description or "OpenBSI session"
        sidecar["RecordingType"] = "continuous"
        sidecar["ElectricalStimulation"] = bool(len(data.pulses))
        if len(data.pulses):
            sidecar["ElectricalStimulationParameters"] = (
                "epidural electrical stimulation of the lumbosacral cord, biphasic pulses: "
                f"{len(data.pulses)} pulses, {float(data.pulses.amplitude_ma.max()):g} mA max; "
                "every pulse in derivatives/openbsi/*_desc-pulses_events.tsv"
            )
        path.write_text(json.dumps(sidecar, indent=4))
