"""The one definition of what a recording's seal covers (writer, `recover` and `verify` use it).

A seal is SHA-256 over named parts, each a digest of a canonical form that the session log and
the NWB file both reproduce exactly:

- "ecog": the hash chain head (hash_chain.py: every sample, each chunk's time and stamp);
- "header": session id, start time, description, software version, meta (seed, source, ...),
  subject (id, sex, age or date of birth, species), study (experimenter, institution, lab,
  experiment description), the stream (name, sampling rate, unit) and every channel in order
  (name, group, location and its other metadata: the electrode table);
- one part per event stream (EVENT_STREAMS: intent, phases, decodes, commands, safety events,
  latency, gait, annotations), the pulses' columns, the summaries (digests.py);
- "kinematics": every body series, column by column (times to the nanosecond);
- "stim_electrodes": the stimulation electrode table;
- "status": the log's state: closed or not (recovered), dropped records, ECoG samples lost,
  end time, damage found while reading.

What is not sealed: the NWB's file_create_date (when the file was converted, not what was
recorded) and descriptions that the writer derives from the sealed content (checked by `verify`
where they carry meaning: rate, starting time, conversion, unit).

A new record type (e.g. ECoG gap or segment records) joins the seal by adding its stream name to
digests.EVENT_STREAMS and its RecordType to log_reader.EVENT_LISTS, and an NWB table to
nwb.py / nwb_read.py (the round-trip test then shows whether the canonical form survives).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Any

import numpy as np

SEAL_VERSION = "openbsi-seal-v2"
DEFAULT_GROUP = "implant"
DEFAULT_LOCATION = "epidural, leg motor cortex"
SUBJECT_KEYS = ("subject_id", "sex", "age", "date_of_birth", "species", "description")
STUDY_KEYS = ("experimenter", "institution", "lab", "experiment_description")
# Assumptions (no source: defaults that say "not known" in NWB's own vocabulary): a participant
# is an adult of unknown age ("P18Y/": 18 years or older, ISO 8601 open range), sex "U"
# (unknown), species Homo sapiens.
DEFAULT_SUBJECT = {
    "subject_id": "unknown",
    "sex": "U",
    "age": "P18Y/",
    "species": "Homo sapiens",
    "description": "participant with spinal cord injury, or the OpenBSI virtual patient",
}
DEFAULT_STUDY = {
    "experimenter": [],
    "institution": "",
    "lab": "",
    "experiment_description": "OpenBSI brain-spine interface session (research use)",
}
STATUS_KEYS = ("closed", "dropped_records", "dropped_ecog_samples", "end_time", "problems")


def iso_utc(text: str) -> str:
    """An ISO 8601 time in one canonical form (UTC, microseconds); '' stays ''."""
    if not text:
        return ""
    moment = dt.datetime.fromisoformat(str(text))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def normalize_subject(subject: dict | None, meta: dict | None = None) -> dict:
    """The subject as recorded: given fields over the defaults; None fields left out."""
    given = {k: v for k, v in (subject or {}).items() if v is not None and v != ""}
    unknown = sorted(set(given) - set(SUBJECT_KEYS))
    if unknown:
        raise ValueError(f"subject keys must be among {SUBJECT_KEYS}, got {unknown}")
    out = dict(DEFAULT_SUBJECT)
    meta = meta or {}
    if "subject_id" not in given and (meta.get("subject") or meta.get("profile")):
        out["subject_id"] = str(meta.get("subject") or meta.get("profile"))
    if "date_of_birth" in given and "age" not in given:
        out.pop("age")
    out.update({k: str(v) for k, v in given.items()})
    if "date_of_birth" in out:
        out["date_of_birth"] = iso_utc(out["date_of_birth"])
    return out


def normalize_study(study: dict | None) -> dict:
    given = {k: v for k, v in (study or {}).items() if v is not None}
    unknown = sorted(set(given) - set(STUDY_KEYS))
    if unknown:
        raise ValueError(f"study keys must be among {STUDY_KEYS}, got {unknown}")
    out = dict(DEFAULT_STUDY) | given
    experimenter = out["experimenter"]
    out["experimenter"] = [experimenter] if isinstance(experimenter, str) else list(experimenter)
    out["experimenter"] = [str(e) for e in out["experimenter"]]
    for key in ("institution", "lab", "experiment_description"):
        out[key] = str(out[key])
    return out


def canonical_channels(names: tuple[str, ...], metas: tuple[dict, ...]) -> list[dict]:
    """One dict per channel in order: name, group, location, then its other metadata."""
    metas = metas or tuple({} for _ in names)
    out = []
    for name, meta in zip(names, metas, strict=True):
        row = {
            "name": str(name),
            "group": str(meta.get("group", DEFAULT_GROUP)),
            "location": str(meta.get("location", DEFAULT_LOCATION)),
        }
        row |= {str(k): v for k, v in meta.items() if k not in ("group", "location", "name")}
        out.append(row)
    return out


def _subject(subject: dict) -> dict:
    out = {str(k): str(v) for k, v in subject.items()}
    if out.get("date_of_birth"):
        out["date_of_birth"] = iso_utc(out["date_of_birth"])
    return out


def header_part(header: dict) -> dict:
    """The canonical header from the fields SessionData holds (see SessionData)."""
    return {
        "session_id": str(header["session_id"]),
        "start_time": iso_utc(header["start_time"]),
        "description": str(header.get("description", "")),
        "software_version": str(header.get("software_version", "")),
        "meta": header.get("meta", {}),
        "subject": _subject(header.get("subject", {})),
        "study": header.get("study", {}),
        "stream": {
            "name": str(header["stream_name"]),
            "sfreq_hz": float(header["sfreq_hz"]),
            "unit": str(header.get("unit", "uV")),
        },
        "channels": header["channels"],
    }


def header_of(data: Any) -> dict:
    """header_part for a SessionData."""
    info = data.info
    return header_part(
        {
            "session_id": data.session_id,
            "start_time": data.start_time,
            "description": data.description,
            "software_version": data.software_version,
            "meta": data.meta,
            "subject": data.subject,
            "study": data.study,
            "stream_name": info.name,
            "sfreq_hz": info.sfreq_hz,
            "unit": info.unit,
            "channels": canonical_channels(info.channel_names, info.channel_meta),
        }
    )


def json_digest(label: str, value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True, default=str)
    return hashlib.sha256(label.encode() + b":" + text.encode()).hexdigest()


def status_part(
    closed: bool, dropped_records: int, dropped_ecog_samples: int, end_time: str, problems: list
) -> dict:
    return {
        "closed": bool(closed),
        "dropped_records": int(dropped_records),
        "dropped_ecog_samples": int(dropped_ecog_samples),
        "end_time": iso_utc(end_time),
        "problems": [str(p) for p in problems],
    }


def status_of(data: Any) -> dict:
    return status_part(
        data.closed,
        data.dropped_records,
        data.dropped_ecog_samples,
        data.end_time,
        data.problems,
    )


def _ns(times: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(times, dtype="f8") * 1e9).astype("<i8")


class KinematicsDigest:
    """Column-wise running digest of the body series, independent of batch boundaries.

    Times count to the nanosecond (a regular series stored as rate + starting time gives back
    the same times at that precision). A column missing from a batch counts as NaN there, as the
    merged recording holds it.
    """

    def __init__(self) -> None:
        self._times = hashlib.sha256(b"kinematics.t_s")
        self._columns: dict[str, Any] = {}
        self._rows = 0

    def update(self, t_s: np.ndarray, columns: dict[str, np.ndarray]) -> None:
        times = np.asarray(t_s, dtype="f8").ravel()
        if not times.size:
            return
        for name in columns:
            if name not in self._columns:
                h = hashlib.sha256(f"kinematics.{name}".encode())
                h.update(np.full(self._rows, np.nan, dtype="<f8").tobytes())
                self._columns[name] = h
        self._times.update(_ns(times).tobytes())
        for name, h in self._columns.items():
            values = columns.get(name)
            block = np.full(times.size, np.nan) if values is None else values
            h.update(np.ascontiguousarray(np.asarray(block, dtype="<f8").ravel()).tobytes())
        self._rows += times.size

    def hexdigest(self) -> str:
        h = hashlib.sha256(b"kinematics")
        h.update(self._times.digest())
        for name in sorted(self._columns):
            h.update(name.encode() + b"=" + self._columns[name].digest())
        return h.hexdigest()


def kinematics_digest(kinematics: dict[str, np.ndarray]) -> str:
    digest = KinematicsDigest()
    if kinematics:
        digest.update(kinematics["t_s"], {k: v for k, v in kinematics.items() if k != "t_s"})
    return digest.hexdigest()


STIM_ELECTRODE_KEYS = ("index", "name", "root", "side", "x_mm", "y_mm", "area_mm2", "material")
_STR_KEYS = ("name", "root", "side", "material")


def canonical_stim_electrodes(electrodes: list[dict]) -> list[dict]:
    """The stimulation electrode table as the NWB holds it (missing numbers NaN -> None)."""
    out = []
    for e in electrodes:
        row: dict[str, Any] = {}
        for key in STIM_ELECTRODE_KEYS:
            value = e.get(key, "" if key in _STR_KEYS else math.nan)
            if key in _STR_KEYS:
                row[key] = str(value)
            elif key == "index":
                row[key] = int(value)
            else:
                number = float(value)
                row[key] = None if math.isnan(number) else number
        out.append(row)
    return out


def seal(chain_head_hex: str, digests: dict[str, str]) -> str:
    """The one value that pins a whole recording: the chain head and every part's digest."""
    h = hashlib.sha256(SEAL_VERSION.encode() + b":" + bytes.fromhex(chain_head_hex))
    for name in sorted(digests):
        h.update(f"{name}={digests[name]};".encode())
    return h.hexdigest()
