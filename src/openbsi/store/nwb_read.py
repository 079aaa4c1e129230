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


def _stream_info(nwb: NWBFile, series: ElectricalSeries | None, name: str) -> StreamInfo:
    table = nwb.electrodes
    labels = column(table, "label", "str")
    groups = [g.name for g in table["group"].data[:]] if table is not None else []
    xs, ys = column(table, "x_mm", "f8"), column(table, "y_mm", "f8")
    stored = column(table, "channel_meta", "str")
    if stored:  # written by this module: the exact channel_meta (empty when there was none)
        metas = () if all(m == "{}" for m in stored) else tuple(json.loads(m) for m in stored)
    else:
        metas = tuple(
            {"group": g, "x_mm": float(x), "y_mm": float(y)}
            for g, x, y in zip(groups, xs, ys, strict=True)
        )
    rate = float(series.rate) if series is not None else 1.0
    return StreamInfo(
        name=name, sfreq_hz=rate, channel_names=tuple(labels) or ("none",), channel_meta=metas
    )


def read_nwb(path: Path, *, load_ecog: bool = True) -> SessionData:
    """Read a recording.nwb back into SessionData (ECoG in uV, samples x channels)."""
    with NWBHDF5IO(str(path), "r") as io:
        return session_from_nwb(io.read(), load_ecog=load_ecog)


def session_from_nwb(nwb: NWBFile, *, load_ecog: bool = True) -> SessionData:
    """SessionData from an open NWBFile (the file must stay open while this runs)."""
    series = nwb.acquisition.get("ECoG")
    status = _table(nwb, "integrity", "log_status")
    chain = _table(nwb, "integrity", "hash_chain")
    stream_name = column(status, "stream_name", "str")
    info = _stream_info(nwb, series, stream_name[0] if stream_name else "ECoG")
    data = SessionData(
        info=info,
        session_id=nwb.identifier,
        start_time=nwb.session_start_time.isoformat(),
        description=nwb.session_description,
    )
    if series is not None:
        data.n_ecog_samples = int(series.data.shape[0])
        data.ecog = (
            np.asarray(series.data[:], dtype="<f4")
            if load_ecog
            else np.zeros((0, info.n_channels), dtype="<f4")
        )
    if status is not None:
        data.closed = bool(column(status, "closed", "bool")[0])
        data.dropped_records = int(column(status, "dropped_records", "i8")[0])
        data.problems = json.loads(column(status, "problems", "str")[0])
        stored_warnings = column(status, "warnings", "str")
        data.warnings = json.loads(stored_warnings[0]) if stored_warnings else []
        data.meta = json.loads(column(status, "meta", "str")[0])
    if chain is not None:
        data.chain_genesis = column(chain, "genesis", "str")[0]
        data.chain_head = column(chain, "head", "str")[0]
        stored_digests = column(chain, "digests", "str")
        data.digests = json.loads(stored_digests[0]) if stored_digests else {}
        stored_seal = column(chain, "seal", "str")
        data.seal = stored_seal[0] if stored_seal else ""
    chunks = _table(nwb, "integrity", "ecog_chunks")
    if chunks is not None:
        data.ecog_chunks = EcogChunks(
            t_s=column(chunks, "t_s", "f8"),
            t_ns=column(chunks, "t_ns", "i8"),
            first_sample=column(chunks, "first_sample", "i8"),
            n_samples=column(chunks, "n_samples", "i8"),
            sha256=column(chunks, "sha256", "str"),
        )
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
    notes = _table(nwb, "intervals", "annotations")
    if notes is not None:
        data.annotations = [
            {
                "t_s": r["start_time"],
                "sample": r["sample"],
                "text": r["text"],
                "author": r["author"],
            }
            for r in _records(
                notes, {"start_time": "f8", "sample": "i8", "text": "str", "author": "str"}
            )
        ]
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
    summaries = _table(nwb, "session", "summaries")
    if summaries is not None:
        data.summaries = {
            n: json.loads(v)
            for n, v in zip(
                column(summaries, "key", "str"), column(summaries, "values", "str"), strict=True
            )
        }
    if "kinematics" in nwb.processing:
        module = nwb.processing["kinematics"]
        for name, series_k in module.data_interfaces.items():
            if "t_s" not in data.kinematics:
                data.kinematics["t_s"] = np.asarray(series_k.timestamps[:])
            data.kinematics[name] = np.asarray(series_k.data[:])
    return data
