"""Tamper suites: edit every field of a recording in turn and ask `verify` whether it noticed.

- NWB: every dataset of the file (h5py; each table column, every series' data, the subject,
  start time, identifier, ...) and the attributes that carry meaning (rate, starting time,
  conversion, offset, unit) are changed one at a time in a copy of the file.
- Session log: every leaf field of the JSON part of the first record of each type, and one value
  of each array, is changed, the record re-framed with a correct CRC (as an attacker who knows
  the format would), and the log verified.

Left out, by design: the NWB's `file_create_date` (when the file was converted, not recorded),
HDF5 object references (the electrode `group` column: its `group_name` twin is checked) and the
NWB namespace specifications (`/specifications`: format, not data). See sealed.py.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openbsi.store.framing import HEADER, MAGIC, decode_payload, encode_payload, frame

SKIPPED_DATASETS = ("file_create_date",)
SKIPPED_PREFIXES = ("specifications",)
MEANINGFUL_ATTRIBUTES = ("rate", "starting_time", "conversion", "offset", "unit", "resolution")


@dataclass(frozen=True)
class TamperOutcome:
    target: str  # what was edited
    caught: bool
    problems: tuple[str, ...]


def _changed_scalar(value: Any) -> Any:
    """A different but plausible value of the same kind."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
            return (moment + dt.timedelta(seconds=1)).isoformat()
        except ValueError:
            return value[:-1] + ("X" if not value.endswith("X") else "Y") if value else "X"
    if isinstance(value, bool | np.bool_):
        return not bool(value)
    if isinstance(value, int | np.integer):
        return int(value) + 1
    if isinstance(value, float | np.floating):
        return 0.0 if not np.isfinite(value) else float(value) + 0.5
    raise TypeError(f"cannot change a {type(value).__name__}")


def _nwb_targets(path: Path) -> list[tuple[str, str | None]]:
    """(dataset path, attribute name or None) of everything the suite edits."""
    import h5py

    out: list[tuple[str, str | None]] = []

    def visit(name: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Dataset) or name.startswith(SKIPPED_PREFIXES):
            return
        if name in SKIPPED_DATASETS or obj.size == 0 or (obj.dtype.kind == "O" and _is_ref(obj)):
            return
        out.append((name, None))
        out.extend((name, key) for key in obj.attrs if key in MEANINGFUL_ATTRIBUTES)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def _is_ref(dataset: Any) -> bool:
    import h5py

    return h5py.check_dtype(ref=dataset.dtype) is not None


def _edit_nwb(path: Path, dataset: str, attribute: str | None) -> None:
    import h5py

    with h5py.File(path, "r+") as f:
        obj = f[dataset]
        if attribute is not None:
            obj.attrs[attribute] = _changed_scalar(obj.attrs[attribute])
            return
        if obj.shape == ():
            obj[()] = _changed_scalar(obj[()])
            return
        index = (0,) * obj.ndim
        obj[index] = _changed_scalar(obj[index])


def tamper_nwb(
    nwb_path: Path, work: Path, verify: Callable[[Path], dict]
) -> Iterator[TamperOutcome]:
    """Edit each field of a copy of the NWB file in turn; caught = verify found it altered."""
    work.mkdir(parents=True, exist_ok=True)
    for dataset, attribute in _nwb_targets(Path(nwb_path)):
        copy = work / "tampered.nwb"
        shutil.copyfile(nwb_path, copy)
        _edit_nwb(copy, dataset, attribute)
        verdict = verify(copy)
        target = dataset if attribute is None else f"{dataset}@{attribute}"
        yield TamperOutcome(target, not verdict["integrity_ok"], tuple(verdict["problems"][:3]))
        copy.unlink()


# ------------------------------------------------------------------------------ session log
def _records(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, record type, payload length) of every record of an intact log."""
    out, offset = [], len(MAGIC)
    while offset + HEADER.size <= len(data):
        _, _, length, record_type = HEADER.unpack_from(data, offset)
        out.append((offset, record_type, length))
        offset += HEADER.size + length
    return out


def _leaves(value: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for key in value:
            yield from _leaves(value[key], (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value[:2]):  # the first items stand for the rest
            yield from _leaves(item, (*path, i))
    else:
        yield path


def _set(value: Any, path: tuple, new: Any) -> None:
    for key in path[:-1]:
        value = value[key]
    value[path[-1]] = new


def _get(value: Any, path: tuple) -> Any:
    for key in path:
        value = value[key]
    return value


def log_edits(log_bytes: bytes) -> Iterator[tuple[str, bytes]]:
    """(what, tampered log) for every leaf field and array of the first record of each type,
    each record re-framed with a valid CRC."""
    from openbsi.store.framing import RecordType

    seen: set[int] = set()
    for offset, record_type, length in _records(log_bytes):
        if record_type in seen:
            continue
        seen.add(record_type)
        payload = log_bytes[offset + HEADER.size : offset + HEADER.size + length]
        meta, arrays = decode_payload(payload)
        name = RecordType(record_type).name.lower()

        def replaced(
            new_meta: dict,
            new_arrays: list,
            at: int = offset,
            size: int = length,
            kind: int = record_type,
        ) -> bytes:
            record = frame(RecordType(kind), encode_payload(new_meta, tuple(new_arrays)))
            return log_bytes[:at] + record + log_bytes[at + HEADER.size + size :]

        for path in _leaves(meta):
            if not path:
                continue
            edited = json.loads(json.dumps(meta))
            old = _get(edited, path)
            if old is None:
                continue
            _set(edited, path, _changed_scalar(old))
            yield f"{name}.{'.'.join(map(str, path))}", replaced(edited, arrays)
        for k, array in enumerate(arrays):
            if array.size:
                edited_arrays = [a.copy() for a in arrays]
                flat = edited_arrays[k].reshape(-1)
                flat[0] = _changed_scalar(flat[0].item())
                yield f"{name}.array{k}", replaced(meta, edited_arrays)


def tamper_log(
    log_path: Path, work: Path, verify: Callable[[Path], dict]
) -> Iterator[TamperOutcome]:
    """Edit each field of a copy of a (closed) log in turn, with valid CRCs."""
    work.mkdir(parents=True, exist_ok=True)
    original = Path(log_path).read_bytes()
    for what, tampered in log_edits(original):
        copy = work / "tampered.obsilog"
        copy.write_bytes(tampered)
        verdict = verify(copy)
        yield TamperOutcome(what, not verdict["integrity_ok"], tuple(verdict["problems"][:3]))
        copy.unlink()


__all__ = ["TamperOutcome", "log_edits", "tamper_log", "tamper_nwb"]
