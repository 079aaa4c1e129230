"""Integrity check of a recording (NWB or session log): structure, hash chain, sealed parts.

What is sealed is defined once in sealed.py. For an NWB file the chain is recomputed from the
samples stored in acquisition/ECoG (or ECoG_seg0, ECoG_seg1, ...: one series per segment,
each checked against its chunks' start time and sample count), chunk by chunk (memory stays
flat), using the chunk table in processing/integrity; every other part's digest is
recomputed from the file's own fields (rate, channel names and the electrode table, subject,
start time, every table and series) and compared with the digests stored at conversion; fields
NWB stores twice (a table's ids, the series' starting time and electrodes, group names, the
reference time) are cross-checked.
Pass `expected_seal` (published at the end of the session) to rule out a recording rebuilt from
scratch, or `expected_head` for the samples alone.

Besides alteration (`integrity_ok`), the verdict reports what the recording says of itself: a
log that was never closed (recovered after a crash), records dropped by write errors, damaged
stretches of the log and gaps in the ECoG are problems too, so `ok` means "complete and intact".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pynwb import NWBHDF5IO, NWBFile

from openbsi.store import hash_chain
from openbsi.store.digests import digests_of
from openbsi.store.ecog_segments import SERIES, ecog_series, segments_of, series_names
from openbsi.store.log_reader import ALTERED, read_log
from openbsi.store.nwb_read import session_from_nwb
from openbsi.store.nwb_tables import column
from openbsi.store.sealed import iso_utc, seal
from openbsi.store.session_data import SessionData

CHAIN_ALGORITHM = "openbsi-ecog-chain-v1"


def _result(
    altered: list[str],
    chain_ok: bool,
    chunks: int,
    duration_s: float,
    data: SessionData | None = None,
) -> dict[str, Any]:
    """The verdict: `ok` only when nothing was altered and the recording is complete."""
    status = _status_problems(data) if data is not None else []
    integrity_ok = not altered and chain_ok
    return {
        "ok": integrity_ok and not status,
        "integrity_ok": integrity_ok,
        "hash_chain_ok": bool(chain_ok),
        "recovered": bool(data is not None and not data.closed),
        "dropped_records": None if data is None else int(data.dropped_records),
        "dropped_ecog_samples": None if data is None else int(data.dropped_ecog_samples),
        "duration_s": float(duration_s),
        "chunks": int(chunks),
        "segments": None if data is None else [seg.as_dict() for seg in data.segments],
        "seal": None if data is None else data.seal,
        "problems": altered + status,
    }


def _status_problems(data: SessionData) -> list[str]:
    out = []
    if not data.closed:
        out.append("recovered: the session log was never closed (the writer stopped)")
    if data.dropped_records:
        out.append(
            f"{data.dropped_records} record(s) lost to write errors "
            f"({data.dropped_ecog_samples} ECoG samples)"
        )
    out += [f"log: {p}" for p in data.problems]
    out += [f"gap: {w}" for w in data.warnings]
    return out


def _check_expected(
    problems: list[str], head: str, seal_hex: str, expected_head: str | None, expected: str | None
) -> bool:
    ok = True
    if expected_head is not None and expected_head.lower() != head:
        problems.append(f"chain head {head} differs from the published head {expected_head}")
        ok = False
    if expected is not None and expected.lower() != seal_hex:
        problems.append(f"seal {seal_hex} differs from the published seal {expected}")
        ok = False
    return ok


def verify_log(
    path: Path, expected_head: str | None = None, expected_seal: str | None = None
) -> dict:
    """Check a session log: framing, CRCs, torn tail, hash chain, sealed parts and the seal."""
    try:
        data = read_log(Path(path), load_ecog=False)
    except (ValueError, KeyError, TypeError, OSError) as error:
        return _result([f"unreadable log {path}: {type(error).__name__}: {error}"], False, 0, 0)
    altered = [p for p in data.problems if p.startswith(ALTERED)]
    data.problems = [p for p in data.problems if not p.startswith(ALTERED)]
    chain_ok = not any("hash chain" in p for p in altered)
    chain_ok &= _check_expected(altered, data.chain_head, data.seal, expected_head, expected_seal)
    return _result(altered, chain_ok, len(data.ecog_chunks), data.duration_s, data)


class _Window:
    """Reads the ECoG dataset in large slabs and serves chunk-sized row ranges from them."""

    ROWS = 8192

    def __init__(self, dataset: object) -> None:
        self._dataset = dataset
        self._start = 0
        self._slab = np.zeros((0, 0), dtype="<f4")

    def rows(self, first: int, count: int) -> np.ndarray:
        stop = first + count
        if first < self._start or stop > self._start + self._slab.shape[0]:
            self._start = first
            end = max(stop, first + self.ROWS)
            self._slab = np.asarray(self._dataset[first:end], dtype="<f4")  # type: ignore[index]
        return self._slab[first - self._start : stop - self._start]


def _recompute_chain(nwb: NWBFile, problems: list[str]) -> tuple[bool, str, int, float]:
    """(chain ok, recomputed head, chunks, duration_s) from the stored samples, segment by
    segment: each series must hold exactly its segment's chunks, from its first chunk's time."""
    all_series = ecog_series(nwb.acquisition)
    integrity = nwb.processing["integrity"]
    summary = integrity["hash_chain"]
    session_id = column(summary, "session_id", "str")[0]
    genesis = column(summary, "genesis", "str")[0]
    stored_head = column(summary, "head", "str")[0]
    if genesis != hash_chain.genesis(session_id).hex():
        problems.append("chain genesis does not match the session id")
    if column(summary, "algorithm", "str") != [CHAIN_ALGORITHM]:
        problems.append(f"hash chain algorithm is not {CHAIN_ALGORITHM}")
    if session_id != nwb.identifier:
        problems.append("hash chain session id differs from the file identifier")
    table = integrity.data_interfaces.get("ecog_chunks")
    t_s, t_ns = column(table, "t_s", "f8"), column(table, "t_ns", "i8")
    first, count = column(table, "first_sample", "i8"), column(table, "n_samples", "i8")
    digests = column(table, "sha256", "str")
    expected_first = np.concatenate([[0], np.cumsum(count)[:-1]]) if len(count) else count
    if not np.array_equal(first, expected_first):
        problems.append("chunk table is not contiguous (first_sample != running sum)")
    rate = float(all_series[0].rate)
    segments = segments_of(t_s, count, rate)
    expected_names = series_names(len(segments))
    found_names = [name for name in nwb.acquisition if name.startswith(SERIES)]
    if sorted(found_names) != sorted(expected_names):
        problems.append(f"ECoG series {sorted(found_names)} differ from the chunks' segments")
        return False, genesis, len(digests), 0.0
    link = bytes.fromhex(genesis)
    n_total = 0
    for segment, series in zip(segments or [None], all_series, strict=True):
        n_rows = int(series.data.shape[0])
        n_total += n_rows
        if float(series.offset) != 0.0 or series.unit != "volts":
            problems.append(f"{series.name} offset {series.offset} / unit {series.unit!r} altered")
        if float(series.rate) != rate:
            problems.append(f"{series.name} rate {series.rate} differs from {rate}")
        if segment is None:
            continue
        if n_rows != segment.n_samples:
            problems.append(f"{series.name} holds {n_rows} samples, its chunks {segment.n_samples}")
            return False, link.hex(), len(digests), 0.0
        if float(series.starting_time) != segment.start_s:
            problems.append(
                f"{series.name} starting_time {series.starting_time} differs from chunk "
                f"{segment.first_chunk} ({segment.start_s})"
            )
        scale = float(series.conversion) / 1e-6  # stored values -> uV
        window = _Window(series.data)
        for k in range(segment.first_chunk, segment.first_chunk + segment.n_chunks):
            if count[k] < 0:
                problems.append(f"chunk {k} points outside the ECoG samples")
                return False, link.hex(), len(digests), 0.0
            block = window.rows(int(first[k]) - segment.first_sample, int(count[k])).T
            if scale != 1.0:
                block = (block * scale).astype("<f4")
            link = hash_chain.next_link(link, block, float(t_s[k]), int(t_ns[k]))
            if link.hex() != digests[k]:
                problems.append(f"hash chain broken at chunk {k} (t_s={t_s[k]:.3f})")
                return False, link.hex(), len(digests), 0.0
    if int(count.sum()) != n_total:
        problems.append(f"chunks hold {int(count.sum())} samples, ECoG holds {n_total}")
    chain_ok = True
    if link.hex() != stored_head:
        chain_ok = False
        problems.append("recomputed chain head differs from the stored head")
    return chain_ok, link.hex(), len(digests), n_total / rate


def _raw_attributes(path: Path, problems: list[str]) -> None:
    """Series attributes as stored (pynwb fixes some on reading, other tools would not)."""
    import h5py

    from openbsi.store.nwb_body import unit_of

    with h5py.File(path, "r") as f:
        series = {f"acquisition/{name}": ("volts", 1e-6) for name in f["acquisition"]}
        kinematics = f.get("processing/kinematics")
        for name in kinematics if kinematics is not None else ():
            series[f"processing/kinematics/{name}"] = (unit_of(name)[0], 1.0)
        for where, (unit, conversion) in series.items():
            attrs = f[f"{where}/data"].attrs
            stored = (
                _text_attr(attrs.get("unit")),
                float(attrs.get("conversion", 1.0)),
                float(attrs.get("offset", 0.0)),
                float(attrs.get("resolution", -1.0)),
            )
            if stored != (unit, conversion, 0.0, -1.0):
                problems.append(f"{where}: unit, conversion, offset or resolution altered")
            start = f.get(f"{where}/starting_time")
            if start is not None and _text_attr(start.attrs.get("unit")) != "seconds":
                problems.append(f"{where}: starting_time unit altered")


def _text_attr(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _cross_check(nwb: NWBFile, problems: list[str]) -> None:
    """Fields NWB holds twice must agree (a reader uses one of them)."""
    n_channels = len(nwb.electrodes) if nwb.electrodes is not None else 0
    for series in ecog_series(nwb.acquisition):
        region = np.asarray(series.electrodes.data[:])
        if not np.array_equal(region, np.arange(n_channels)) or series.data.shape[1] != n_channels:
            problems.append(f"{series.name} electrodes do not match the electrode table")
    table = nwb.electrodes
    if table is not None and "group_name" in table.colnames:
        names = column(table, "group_name", "str")
        if names != [g.name for g in table["group"].data[:]]:
            problems.append("electrode group_name differs from the electrode group")
    if iso_utc(nwb.timestamps_reference_time.isoformat()) != iso_utc(
        nwb.session_start_time.isoformat()
    ):
        problems.append("timestamps_reference_time differs from session_start_time")
    tables = [nwb.electrodes, *(nwb.intervals.values() if nwb.intervals else [])]
    for module in nwb.processing.values():
        tables += [t for t in module.data_interfaces.values() if hasattr(t, "id")]
    for t in tables:
        if t is not None and not np.array_equal(np.asarray(t.id.data[:]), np.arange(len(t))):
            problems.append(f"row ids of table {t.name} altered")
    if "kinematics" in nwb.processing:
        timings = set()
        for s in nwb.processing["kinematics"].data_interfaces.values():
            if s.timestamps is not None:
                timings.add(("timestamps", id(s.timestamp_link or s), len(s.data)))
            else:
                timings.add((float(s.rate), float(s.starting_time), len(s.data)))
        rates = {t for t in timings if t[0] != "timestamps"}
        if len(rates) > 1 or (rates and len(timings) > 1):
            problems.append("kinematics series disagree on their timing")


def verify_nwb(
    path: Path, expected_head: str | None = None, expected_seal: str | None = None
) -> dict:
    """Check an NWB recording written by openbsi.store.nwb."""
    problems: list[str] = []
    try:
        io = NWBHDF5IO(str(path), "r")
        nwb = io.read()
    except Exception as error:  # any HDF5/NWB failure means the file cannot be trusted
        return _result([f"cannot read {path}: {type(error).__name__}: {error}"], False, 0, 0.0)
    try:
        if not ecog_series(nwb.acquisition) or "integrity" not in nwb.processing:
            return _result(["no ECoG series or no integrity module in the file"], False, 0, 0.0)
        chain_ok, head, chunks, duration_s = _recompute_chain(nwb, problems)
        _cross_check(nwb, problems)
        _raw_attributes(Path(path), problems)
        data = session_from_nwb(nwb, load_ecog=False)
        recomputed = digests_of(data)
        for name in sorted(set(recomputed) | set(data.digests)):
            if recomputed.get(name) != data.digests.get(name):
                problems.append(f"altered: the digest of {name} does not match")
        actual = seal(head, recomputed)
        if data.seal != actual:
            problems.append("stored seal does not match the recomputed one")
        data.seal = actual
        chain_ok &= _check_expected(problems, head, actual, expected_head, expected_seal)
        return _result(problems, chain_ok, chunks, duration_s, data)
    except Exception as error:  # a hostile or mangled file must give a verdict, not a crash
        problems.append(f"malformed recording: {type(error).__name__}: {error}")
        return _result(problems, False, 0, 0.0)
    finally:
        io.close()


def verify_recording(
    path: Path, expected_head: str | None = None, expected_seal: str | None = None
) -> dict:
    """verify_nwb or verify_log, by what the file is."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"recording path must exist, got {path}")
    if path.is_dir() or path.suffix == ".obsilog":
        return verify_log(path, expected_head, expected_seal)
    return verify_nwb(path, expected_head, expected_seal)
