"""NWB writer for a recorded session (reader: nwb_read.py, re-exported here; round-trip tested).

Layout of recording.nwb:
- acquisition/ECoG: ElectricalSeries, samples x channels, float32 uV stored with conversion 1e-6
  (volts), rate = stream rate, one ElectrodeGroup per implant (channel_meta "group"). A stream
  with breaks (gaps, reconnects, a start-up backlog) is stored as ECoG_seg0, ECoG_seg1, ...: one
  series per segment (openbsi.store.ecog_segments), each with its own starting_time, the same
  rate and electrodes. Chosen over one series with timestamps: every sample keeps rate-based
  timing (no 8-byte stamp per sample, no nwbinspector "regular timestamps" flag inside a
  segment), and a reader that ignores segments cannot join them by mistake.
- intervals/intent (state, amplitude), intervals/phases (name), intervals/annotations.
- processing/decoding/decodes: t_s, state, amplitude, probabilities (n x 7, openbsi.states order).
- processing/stimulation/{commands, pulses, safety_events, electrodes}.
- processing/runtime/latency: tick + one monotonic stamp column (ns) per hop.
- processing/behavior/gait_events, processing/kinematics/<column> (TimeSeries: a rate when
  regular, a unit and a description each), intervals/annotations (label).
- processing/integrity/{ecog_chunks, hash_chain, digests, log_status, log_problems,
  session_meta}: the SHA-256 chain per ECoG chunk, one digest per sealed part (sealed.py), the
  log's status and the header fields NWB has no place for.
- general: subject (id, sex, age or date of birth, species), experimenter, institution, lab.
Tables with no rows are left out; the reader treats a missing table as empty.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from hdmf.backends.hdf5 import H5DataIO
from pynwb import NWBHDF5IO, NWBFile
from pynwb.ecephys import ElectricalSeries
from pynwb.epoch import TimeIntervals
from pynwb.file import Subject

from openbsi.states import STATES
from openbsi.store.ecog_segments import EcogSegment, segments_of, series_names
from openbsi.store.log_reader import read_log
from openbsi.store.nwb_body import add_kinematics, add_summaries
from openbsi.store.nwb_read import read_nwb, session_from_nwb
from openbsi.store.nwb_stream import LogEcogIterator
from openbsi.store.nwb_tables import make_table
from openbsi.store.sealed import canonical_channels, iso_utc
from openbsi.store.session_data import SessionData
from openbsi.store.session_log import LATENCY_KEYS

__all__ = ["log_to_nwb", "read_nwb", "session_from_nwb", "write_nwb"]

# Measured (300 s x 64 ch, noise-like float32): no compression 0.29 s / 46 MB; gzip-1 1.9 s /
# 43 MB. Off by default.
ECOG_COMPRESSION_LEVEL: int | None = None
DEFAULT_DESCRIPTION = "OpenBSI session"  # NWB needs one; the recorder writes it too


def _add_ecog(nwb: NWBFile, data: SessionData, compression: int | None) -> None:
    info = data.info
    channels = canonical_channels(info.channel_names, info.channel_meta)
    groups = {}
    for row in channels:
        if row["group"] not in groups:
            device = nwb.create_device(
                name=f"ecog_{row['group']}", description=f"ECoG implant {row['group']}"
            )
            groups[row["group"]] = nwb.create_electrode_group(
                name=row["group"],
                description=f"epidural ECoG implant {row['group']}",
                location=row["location"],
                device=device,
            )
    extras = _extra_columns(channels)
    nwb.add_electrode_column(name="label", description="channel name")
    for key in extras:
        nwb.add_electrode_column(name=key, description=_EXTRA_DESCRIPTIONS.get(key, key))
    for row in channels:
        values = {
            key: (row[key] if kind == "json" else row.get(key)) for key, kind in extras.items()
        }
        for key, kind in extras.items():
            if kind == "json":
                values[key] = json.dumps({k: v for k, v in row.items() if k not in _FIXED})
        nwb.add_electrode(
            group=groups[row["group"]], location=row["location"], label=row["name"], **values
        )
    c = data.ecog_chunks
    segments = segments_of(c.t_s, c.n_samples, info.sfreq_hz)
    if not segments:  # no chunk recorded: one empty series keeps the layout
        segments = [EcogSegment(0, 0, 0, 0, 0, 0.0, float(info.sfreq_hz))]
    names = series_names(len(segments))
    for segment, name in zip(segments, names, strict=True):
        _add_segment(nwb, data, segment, name, len(segments), compression)


def _add_segment(
    nwb: NWBFile,
    data: SessionData,
    segment: EcogSegment,
    name: str,
    n_segments: int,
    compression: int | None,
) -> None:
    """One ElectricalSeries: the segment's samples at the stream's rate from its start."""
    info = data.info
    region = nwb.create_electrode_table_region(  # one per series: a region has one parent
        region=list(range(info.n_channels)), description="all recorded channels"
    )
    samples: object
    if data.ecog_source is not None and segment.n_samples > 0:  # stream from the log
        samples = LogEcogIterator(
            data.ecog_source,
            segment.n_samples,
            info.n_channels,
            segment.n_chunks,
            first_chunk=segment.first_chunk,
            first_sample=segment.first_sample,
        )
    else:
        stop = segment.first_sample + segment.n_samples
        samples = np.ascontiguousarray(data.ecog[segment.first_sample : stop], dtype="<f4")
        if samples.shape[0] == 0:
            samples = np.zeros((0, info.n_channels), dtype="<f4")
    stored = (
        H5DataIO(samples, compression="gzip", compression_opts=compression, chunks=True)
        if compression
        else samples
    )
    where = (
        ""
        if n_segments == 1
        else f"; segment {segment.index + 1} of {n_segments} (a break in the stream before"
        " each later one: the segments are never joined)"
    )
    nwb.add_acquisition(
        ElectricalSeries(
            name=name,
            data=stored,
            electrodes=region,
            rate=float(info.sfreq_hz),
            starting_time=segment.start_s,
            conversion=1e-6,
            description=f"epidural ECoG from stream {info.name!r}, stored in uV "
            f"(conversion 1e-6){where}",
        )
    )


_FIXED = ("name", "group", "location")
_EXTRA_DESCRIPTIONS = {
    "x_mm": "mediolateral position on the implant, mm",
    "y_mm": "rostrocaudal position on the implant, mm",
    "tuned_to": "movement the virtual channel is tuned to",
}


def _extra_columns(channels: list[dict]) -> dict[str, str]:
    """Per-channel metadata beyond name/group/location as columns: {key: "f8" | "str"} when
    every channel has the same keys with numbers or strings, else one JSON column."""
    keys = [tuple(k for k in row if k not in _FIXED) for row in channels]
    if not keys or not keys[0]:
        return {}
    if any(k != keys[0] for k in keys):
        return {"extra_meta": "json"}
    out: dict[str, str] = {}
    for key in keys[0]:
        values = [row[key] for row in channels]
        if all(isinstance(v, float) for v in values):
            out[key] = "f8"
        elif all(isinstance(v, str) for v in values):
            out[key] = "str"
        else:
            return {"extra_meta": "json"}
    return out


def _add_integrity(nwb: NWBFile, data: SessionData) -> None:
    module = nwb.create_processing_module("integrity", "hash chain over recorded ECoG chunks")
    c = data.ecog_chunks
    if len(c):
        module.add(
            make_table(
                "ecog_chunks",
                "one row per recorded ECoG chunk; sha256 is its "
                "link in the chain (openbsi.store.hash_chain)",
                [
                    ("t_s", c.t_s, "session time of the first sample, s"),
                    ("t_ns", c.t_ns, "monotonic acquisition stamp, ns"),
                    (
                        "first_sample",
                        c.first_sample,
                        "index of the first sample, counted over the ECoG series in order",
                    ),
                    ("n_samples", c.n_samples, "samples in the chunk"),
                    ("sha256", c.sha256, "hex SHA-256 link"),
                ],
            )
        )
    module.add(
        make_table(
            "hash_chain",
            "SHA-256 chain summary",
            [
                ("session_id", [data.session_id], "binds the first link to this session"),
                ("genesis", [data.chain_genesis], "hex of link 0"),
                ("head", [data.chain_head], "hex of the last link"),
                ("algorithm", ["openbsi-ecog-chain-v1"], "see openbsi.store.hash_chain"),
                ("seal", [data.seal], "hex: every sealed part (openbsi.store.sealed)"),
            ],
        )
    )
    names = sorted(data.digests)
    module.add(
        make_table(
            "digests",
            "SHA-256 of each sealed part (openbsi.store.sealed)",
            [
                ("part", names, "sealed part"),
                ("sha256", [data.digests[n] for n in names], "hex digest"),
            ],
        )
    )
    module.add(
        make_table(
            "log_status",
            "state of the session log this file was built from, and header fields",
            [
                (
                    "closed",
                    np.array([data.closed]),
                    "the recorder closed cleanly (False: recovered)",
                ),
                (
                    "dropped_records",
                    np.array([data.dropped_records]),
                    "records lost to write errors",
                ),
                (
                    "dropped_ecog_samples",
                    np.array([data.dropped_ecog_samples]),
                    "ECoG samples in the lost records",
                ),
                ("closed_at_utc", [iso_utc(data.end_time) or "n/a"], "when the recorder closed"),
                ("stream_name", [data.info.name], "name of the recorded stream"),
                ("stream_unit", [data.info.unit], "unit of the recorded stream"),
                ("software_version", [data.software_version or "n/a"], "openbsi version"),
            ],
        )
    )
    if data.problems:
        module.add(
            make_table(
                "log_problems",
                "problems found while reading the session log (damage, lost records)",
                [("problem", list(data.problems), "one problem")],
            )
        )
    if data.meta:
        keys = sorted(data.meta)
        module.add(
            make_table(
                "session_meta",
                "session metadata (seed, source, ...): one row per key",
                [
                    ("key", keys, "name"),
                    ("value", [json.dumps(data.meta[k]) for k in keys], "value as JSON"),
                ],
            )
        )


def _columns(events: Iterable[dict], *keys: str) -> dict[str, list]:
    """Several keys' values in one pass over the events (each event decoded once)."""
    out: dict[str, list] = {key: [] for key in keys}
    for event in events:
        for key in keys:
            out[key].append(event[key])
    return out


def _add_events(nwb: NWBFile, data: SessionData) -> None:
    if data.intents:
        c = _columns(data.intents, "start_s", "stop_s", "state", "amplitude")
        nwb.add_time_intervals(
            make_table(
                "intent",
                "the patient's intended movement",
                [
                    ("start_time", c["start_s"], "s"),
                    ("stop_time", c["stop_s"], "s"),
                    ("state", c["state"], f"one of {STATES}"),
                    ("amplitude", c["amplitude"], "intended amplitude, 0..1"),
                ],
                cls=TimeIntervals,
            )
        )
    if data.annotations:
        c = _columns(data.annotations, "start_s", "stop_s", "label")
        nwb.add_time_intervals(
            make_table(
                "annotations",
                "labelled intervals of session time",
                [
                    ("start_time", c["start_s"], "s"),
                    ("stop_time", c["stop_s"], "s"),
                    ("label", c["label"], "label"),
                ],
                cls=TimeIntervals,
            )
        )
    if data.phases:
        c = _columns(data.phases, "start_s", "stop_s", "name")
        nwb.add_time_intervals(
            make_table(
                "phases",
                "session phases",
                [
                    ("start_time", c["start_s"], "s"),
                    ("stop_time", c["stop_s"], "s"),
                    ("phase", c["name"], "e.g. calibration, closed_loop"),
                ],
                cls=TimeIntervals,
            )
        )
    if data.decodes:
        module = nwb.create_processing_module("decoding", "decoder output every tick")
        c = _columns(data.decodes, "t_s", "state", "amplitude", "probs")
        module.add(
            make_table(
                "decodes",
                "decoded state per tick",
                [
                    ("t_s", c["t_s"], "session time, s"),
                    ("state", c["state"], f"one of {STATES}"),
                    ("amplitude", c["amplitude"], "decoded amplitude"),
                    (
                        "probabilities",
                        np.array(c["probs"], dtype="f8"),
                        f"state probabilities in the order {STATES}",
                    ),
                ],
            )
        )
    stim = nwb.create_processing_module("stimulation", "commands, pulses, safety events")
    if data.stim_commands:
        c = _columns(data.stim_commands, "t_s", "seq", "state", "vetoed", "clamped", "channels")
        keys = ("electrode", "amplitude_ma", "pulse_width_us", "frequency_hz")
        ragged = {key: [[ch[key] for ch in chans] for chans in c["channels"]] for key in keys}
        del c["channels"]
        stim.add(
            make_table(
                "commands",
                "every command, delivered or vetoed",
                [
                    ("t_s", c["t_s"], "s"),
                    ("seq", c["seq"], "sequence number"),
                    ("state", c["state"], "state the command serves"),
                    ("vetoed", np.array(c["vetoed"], dtype=bool), "refused by the supervisor"),
                    ("clamped", np.array(c["clamped"], dtype=bool), "reduced to the limits"),
                ],
                ragged=[(key, ragged[key], key) for key in keys],
            )
        )
    p = data.pulses
    if len(p):
        stim.add(
            make_table(
                "pulses",
                "delivered biphasic pulses",
                [
                    ("t_s", p.t_s, "onset, s"),
                    ("electrode", p.electrode, "electrode index"),
                    ("amplitude_ma", p.amplitude_ma, "mA"),
                    ("pulse_width_us", p.pulse_width_us, "us"),
                ],
            )
        )
    if data.safety_events:
        c = _columns(
            data.safety_events, "t_s", "rule", "field", "value", "limit", "action", "electrode"
        )
        stim.add(
            make_table(
                "safety_events",
                "safety supervisor events",
                [
                    ("t_s", c["t_s"], "s"),
                    ("rule", c["rule"], "rule"),
                    ("field", c["field"], "checked field"),
                    ("value", c["value"], "value"),
                    ("limit", c["limit"], "limit"),
                    ("action", c["action"], "action"),
                    ("electrode", c["electrode"], "electrode index, -1 if none"),
                ],
            )
        )
    el = data.stim_electrodes
    if el:
        keys = ("index", "name", "root", "side", "x_mm", "y_mm", "area_mm2", "material")
        stim.add(
            make_table(
                "electrodes",
                "stimulation electrode layout",
                [
                    (
                        "label" if k == "name" else k,
                        [
                            e.get(k, "" if k in ("name", "root", "side", "material") else np.nan)
                            for e in el
                        ],
                        k,
                    )
                    for k in keys
                ],
            )
        )
    if data.latency:
        runtime = nwb.create_processing_module("runtime", "latency stamps")
        stamps = np.full((len(data.latency), len(LATENCY_KEYS) + 1), -1, dtype="i8")
        for i, row in enumerate(data.latency):
            stamps[i, 0] = row["tick"]
            stamps[i, 1:] = [row["stamps_ns"].get(h, -1) for h in LATENCY_KEYS]
        runtime.add(
            make_table(
                "latency",
                "time.monotonic_ns() stamps per decode tick",
                [
                    ("tick", stamps[:, 0], "tick number"),
                    *[
                        (f"{h}_ns", stamps[:, k + 1], f"stamp '{h}', ns (-1: hop not taken)")
                        for k, h in enumerate(LATENCY_KEYS)
                    ],
                ],
            )
        )
    if data.gait_events:
        c = _columns(data.gait_events, "t_s", "side", "length_m", "clearance_m", "failed")
        behavior = nwb.create_processing_module("behavior", "gait events")
        behavior.add(
            make_table(
                "gait_events",
                "one row per step",
                [
                    ("t_s", c["t_s"], "s"),
                    ("side", c["side"], "left/right"),
                    ("length_m", c["length_m"], "m"),
                    ("clearance_m", c["clearance_m"], "m"),
                    ("failed", np.array(c["failed"], dtype=bool), "failed step"),
                ],
            )
        )
    add_summaries(nwb, data.summaries)
    add_kinematics(nwb, data.kinematics)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_nwb(data: SessionData, path: Path, *, compression_level: int | None = None) -> Path:
    """Write a session to NWB; returns the path. compression_level: gzip level for ECoG."""
    path = Path(path)
    start = dt.datetime.fromisoformat(iso_utc(data.start_time))
    subject = dict(data.subject)
    if "date_of_birth" in subject:
        subject["date_of_birth"] = dt.datetime.fromisoformat(subject["date_of_birth"])
    study = data.study
    nwb = NWBFile(
        session_description=data.description or DEFAULT_DESCRIPTION,
        identifier=data.session_id,
        session_start_time=start,
        experiment_description=study.get("experiment_description") or None,
        experimenter=list(study.get("experimenter", [])) or None,
        institution=study.get("institution") or None,
        lab=study.get("lab") or None,
        subject=Subject(**subject) if subject else None,
    )
    _add_ecog(nwb, data, compression_level or ECOG_COMPRESSION_LEVEL)
    _add_integrity(nwb, data)
    _add_events(nwb, data)
    tmp = path.with_name(path.stem + ".partial.nwb")  # renamed into place only when complete
    try:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
        _fsync_path(tmp)  # durable before it takes the final name
        tmp.replace(path)
        _fsync_path(path.parent)
    except BaseException:  # a full disk or a failure mid-write: leave no half file behind
        tmp.unlink(missing_ok=True)
        raise
    return path


def log_to_nwb(log_path: Path, nwb_path: Path, *, compression_level: int | None = None) -> Path:
    """Convert a session log (possibly torn by a crash) to NWB, streaming the samples."""
    data = read_log(Path(log_path), load_ecog=False)
    return write_nwb(data, Path(nwb_path), compression_level=compression_level)
