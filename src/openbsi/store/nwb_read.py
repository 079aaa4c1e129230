"""NWB reader: recording.nwb (as written by openbsi.store.nwb) back into SessionData."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from hdmf.common import DynamicTable
from pynwb import NWBHDF5IO, NWBFile
from pynwb.ecephys import ElectricalSeries

from openbsi.signals.types import StreamInfo
from openbsi.store.ecog_segments import ecog_series
from openbsi.store.log_reader import check_timing
from openbsi.store.nwb_body import read_kinematics, read_summaries
from openbsi.store.nwb_tables import column
from openbsi.store.session_data import EcogChunks, EventList, Pulses, SessionData
from openbsi.store.session_log import LATENCY_KEYS


def _table(nwb: NWBFile, module: str, name: str) -> DynamicTable | None:
    if module == "intervals":
        return nwb.intervals.get(name) if nwb.intervals else None
    if module not in nwb.processing or name not in nwb.processing[module].data_interfaces:
        return None
    return nwb.processing[module][name]


def _records(table: DynamicTable | None, spec: dict[str, str]) -> Iterator[dict]:
    """Rows as dicts of Python values, one at a time (columns are read whole)."""
    cols = {key: column(table, key, dtype) for key, dtype in spec.items()}
    n = len(next(iter(cols.values())))
    for i in range(n):
        row = {}
        for key, values in cols.items():
            v = values[i]
            row[key] = v.item() if isinstance(v, np.generic) else v
        yield row


_FIXED_ELECTRODE_COLUMNS = ("label", "group", "group_name", "location")


def _stream_info(nwb: NWBFile, series: ElectricalSeries | None, name: str, unit: str) -> StreamInfo:
    """The stream as recorded, from the electrode table's columns and the series' rate."""
    table = nwb.electrodes
    labels = column(table, "label", "str")
    groups = [g.name for g in table["group"].data[:]] if table is not None else []
    locations = column(table, "location", "str")
    extras = {}
    for key in table.colnames if table is not None else ():
        if key in _FIXED_ELECTRODE_COLUMNS:
            continue
        kind = "str" if key == "extra_meta" or table[key].data.dtype.kind in "OSU" else "f8"
        extras[key] = column(table, key, kind)
    metas = []
    for i in range(len(labels)):
        meta = {"group": groups[i], "location": locations[i]}
        for key, values in extras.items():
            if key == "extra_meta":
                meta |= json.loads(values[i])
            else:
                value = values[i]
                meta[key] = value.item() if isinstance(value, np.generic) else value
        metas.append(meta)
    rate = float(series.rate) if series is not None else 1.0
    return StreamInfo(
        name=name,
        sfreq_hz=rate,
        channel_names=tuple(labels) or ("none",),
        unit=unit,
        channel_meta=tuple(metas),
    )


def _text(values: list, default: str = "") -> str:
    """The first value of a one-row string column; "n/a" stands for empty."""
    return default if not values or values[0] == "n/a" else values[0]


def read_nwb(path: Path, *, load_ecog: bool = True) -> SessionData:
    """Read a recording.nwb back into SessionData (ECoG in uV, samples x channels)."""
    with NWBHDF5IO(str(path), "r") as io:
        return session_from_nwb(io.read(), load_ecog=load_ecog)


def session_from_nwb(nwb: NWBFile, *, load_ecog: bool = True) -> SessionData:
    """SessionData from an open NWBFile (the file must stay open while this runs)."""
    segments = ecog_series(nwb.acquisition)
    series = segments[0] if segments else None
    status = _table(nwb, "integrity", "log_status")
    chain = _table(nwb, "integrity", "hash_chain")
    stream_name = _text(column(status, "stream_name", "str"), "ECoG")
    info = _stream_info(nwb, series, stream_name, _text(column(status, "stream_unit", "str"), "uV"))
    data = SessionData(
        info=info,
        session_id=nwb.identifier,
        start_time=nwb.session_start_time.isoformat(),
        description=nwb.session_description,
        subject=_subject(nwb),
        study={
            "experimenter": [str(e) for e in (nwb.experimenter or ())],
            "institution": nwb.institution or "",
            "lab": nwb.lab or "",
            "experiment_description": nwb.experiment_description or "",
        },
    )
    if segments:  # the segments' samples one after the other; times stay in ecog_chunks
        data.n_ecog_samples = sum(int(s.data.shape[0]) for s in segments)
        data.ecog = (
            np.concatenate([np.asarray(s.data[:], dtype="<f4") for s in segments], axis=0)
            if load_ecog
            else np.zeros((0, info.n_channels), dtype="<f4")
        )
    if status is not None:
        data.closed = bool(column(status, "closed", "bool")[0])
        data.dropped_records = int(column(status, "dropped_records", "i8")[0])
        data.dropped_ecog_samples = int(column(status, "dropped_ecog_samples", "i8")[0])
        data.end_time = _text(column(status, "closed_at_utc", "str"))
        data.software_version = _text(column(status, "software_version", "str"))
    data.problems = list(column(_table(nwb, "integrity", "log_problems"), "problem", "str"))
    meta = _table(nwb, "integrity", "session_meta")
    data.meta = {
        k: json.loads(v)
        for k, v in zip(column(meta, "key", "str"), column(meta, "value", "str"), strict=True)
    }
    if chain is not None:
        data.chain_genesis = column(chain, "genesis", "str")[0]
        data.chain_head = column(chain, "head", "str")[0]
        data.seal = _text(column(chain, "seal", "str"))
    digests = _table(nwb, "integrity", "digests")
    data.digests = dict(
        zip(column(digests, "part", "str"), column(digests, "sha256", "str"), strict=True)
    )
    chunks = _table(nwb, "integrity", "ecog_chunks")
    if chunks is not None:
        data.ecog_chunks = EcogChunks(
            t_s=column(chunks, "t_s", "f8"),
            t_ns=column(chunks, "t_ns", "i8"),
            first_sample=column(chunks, "first_sample", "i8"),
            n_samples=column(chunks, "n_samples", "i8"),
            sha256=column(chunks, "sha256", "str"),
        )
        if len(data.ecog_chunks):
            check_timing(data, data.ecog_chunks.t_s, data.ecog_chunks.n_samples)
    intent = _table(nwb, "intervals", "intent")
    data.intents = EventList(
        {
            "start_s": r["start_time"],
            "stop_s": r["stop_time"],
            "state": r["state"],
            "amplitude": r["amplitude"],
        }
        for r in _records(
            intent, {"start_time": "f8", "stop_time": "f8", "state": "str", "amplitude": "f8"}
        )
    )
    annotations = _table(nwb, "intervals", "annotations")
    data.annotations = EventList(
        {"start_s": r["start_time"], "stop_s": r["stop_time"], "label": r["label"]}
        for r in _records(annotations, {"start_time": "f8", "stop_time": "f8", "label": "str"})
    )
    phases = _table(nwb, "intervals", "phases")
    data.phases = EventList(
        {"start_s": r["start_time"], "stop_s": r["stop_time"], "name": r["phase"]}
        for r in _records(phases, {"start_time": "f8", "stop_time": "f8", "phase": "str"})
    )
    decodes = _table(nwb, "decoding", "decodes")
    probs = column(decodes, "probabilities", "f8")
    data.decodes = EventList(
        {**row, "probs": [float(x) for x in p]}
        for row, p in zip(
            _records(decodes, {"t_s": "f8", "state": "str", "amplitude": "f8"}), probs, strict=True
        )
    )
    commands = _table(nwb, "stimulation", "commands")
    ragged = {
        k: column(commands, k)
        for k in ("electrode", "amplitude_ma", "pulse_width_us", "frequency_hz")
    }
    data.stim_commands = EventList(
        {
            **row,
            "channels": [
                {
                    "electrode": int(e),
                    "amplitude_ma": float(a),
                    "pulse_width_us": float(w),
                    "frequency_hz": float(f),
                }
                for e, a, w, f in zip(
                    ragged["electrode"][i],
                    ragged["amplitude_ma"][i],
                    ragged["pulse_width_us"][i],
                    ragged["frequency_hz"][i],
                    strict=True,
                )
            ],
        }
        for i, row in enumerate(
            _records(
                commands,
                {"t_s": "f8", "seq": "i8", "state": "str", "vetoed": "bool", "clamped": "bool"},
            )
        )
    )
    pulses = _table(nwb, "stimulation", "pulses")
    if pulses is not None:
        data.pulses = Pulses(
            t_s=column(pulses, "t_s", "f8"),
            electrode=column(pulses, "electrode", "i4"),
            amplitude_ma=column(pulses, "amplitude_ma", "f8"),
            pulse_width_us=column(pulses, "pulse_width_us", "f8"),
        )
    data.safety_events = EventList(
        _records(
            _table(nwb, "stimulation", "safety_events"),
            {
                "t_s": "f8",
                "rule": "str",
                "field": "str",
                "value": "f8",
                "limit": "f8",
                "action": "str",
                "electrode": "i8",
            },
        )
    )
    data.stim_electrodes = [
        {"name" if k == "label" else k: v for k, v in row.items()}
        for row in _records(
            _table(nwb, "stimulation", "electrodes"),
            {
                "index": "i8",
                "label": "str",
                "root": "str",
                "side": "str",
                "x_mm": "f8",
                "y_mm": "f8",
                "area_mm2": "f8",
                "material": "str",
            },
        )
    ]
    latency = _table(nwb, "runtime", "latency")
    stamps = {h: column(latency, f"{h}_ns", "i8") for h in LATENCY_KEYS}
    data.latency = EventList(
        {"tick": int(t), "stamps_ns": {h: int(stamps[h][i]) for h in LATENCY_KEYS}}
        for i, t in enumerate(column(latency, "tick", "i8"))
    )
    data.gait_events = EventList(
        _records(
            _table(nwb, "behavior", "gait_events"),
            {"t_s": "f8", "side": "str", "length_m": "f8", "clearance_m": "f8", "failed": "bool"},
        )
    )
    data.summaries = read_summaries(nwb)
    data.kinematics = read_kinematics(nwb)
    return data


def _subject(nwb: NWBFile) -> dict:
    subject = nwb.subject
    if subject is None:
        return {}
    out = {}
    for key in ("subject_id", "sex", "age", "date_of_birth", "species", "description"):
        value = getattr(subject, key, None)
        if value is not None:
            out[key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return out
