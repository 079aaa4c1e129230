"""Integrity check of a recording (NWB or session log): structure, hash chain, event digests.

For an NWB file the chain is recomputed from the samples stored in acquisition/ECoG, chunk by
chunk (memory stays flat), using the chunk table in processing/integrity; any altered sample,
timestamp, removed or reordered chunk breaks it. Pass `expected_head` (the head published at the
end of the session) to also rule out a recording rebuilt from scratch with a fresh chain, or
`expected_seal` (SessionRecorder.seal) to pin the samples and every decision at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pynwb import NWBHDF5IO, NWBFile

from openbsi.store import hash_chain
from openbsi.store.digests import digests_of, seal
from openbsi.store.log_reader import read_log
from openbsi.store.nwb_read import session_from_nwb
from openbsi.store.nwb_tables import column


def _result(problems: list[str], chain_ok: bool, chunks: int, duration_s: float) -> dict:
    return {
        "ok": not problems and chain_ok,
        "duration_s": float(duration_s),
        "chunks": int(chunks),
        "hash_chain_ok": bool(chain_ok),
        "problems": problems,
    }


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


def _check_seal(problems: list[str], actual: str, expected: str | None) -> bool:
    if expected is not None and expected.lower() != actual:
        problems.append(f"seal {actual} differs from the published seal {expected}")
        return False
    return True


def verify_log(
    path: Path, expected_head: str | None = None, expected_seal: str | None = None
) -> dict:
    """Check a session log: framing, CRCs, torn tail, hash chain, digests and seal."""
    data = read_log(Path(path))
    problems = list(data.problems)
    chain_ok = not any("hash chain" in p for p in problems)
    if not data.closed:
        problems.append("the log has no closing record (the writer did not close it)")
    if expected_head is not None and expected_head.lower() != data.chain_head:
        chain_ok = False
        problems.append(f"chain head {data.chain_head} differs from expected {expected_head}")
    chain_ok &= _check_seal(problems, data.seal, expected_seal)
    return _result(problems, chain_ok, len(data.ecog_chunks), data.duration_s)


def _check_events(nwb: NWBFile, head_hex: str, problems: list[str]) -> str:
    """Recompute the event digests from the file; returns the seal they give."""
    data = session_from_nwb(nwb, load_ecog=False)
    recomputed = digests_of(data)
    for name in sorted(set(recomputed) | set(data.digests)):
        if recomputed.get(name) != data.digests.get(name):
            problems.append(f"events altered: digest of {name} does not match")
    actual = seal(head_hex, recomputed)
    if data.seal and data.seal != actual:
        problems.append("stored seal does not match the recomputed one")
    return actual


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
        series = nwb.acquisition.get("ECoG")
        integrity = nwb.processing.get("integrity")
        if series is None or integrity is None or "hash_chain" not in integrity.data_interfaces:
            return _result(["no ECoG series or no integrity module in the file"], False, 0, 0.0)
        summary = integrity["hash_chain"]
        session_id = column(summary, "session_id", "str")[0]
        genesis = column(summary, "genesis", "str")[0]
        stored_head = column(summary, "head", "str")[0]
        if genesis != hash_chain.genesis(session_id).hex():
            problems.append("chain genesis does not match the session id")
        if session_id != nwb.identifier:
            problems.append("hash chain session id differs from the file identifier")
        table = integrity.data_interfaces.get("ecog_chunks")
        t_s, t_ns = column(table, "t_s", "f8"), column(table, "t_ns", "i8")
        first, count = column(table, "first_sample", "i8"), column(table, "n_samples", "i8")
        digests = column(table, "sha256", "str")
        samples = series.data
        n_total = int(samples.shape[0])
        expected_first = np.concatenate([[0], np.cumsum(count)[:-1]]) if len(count) else count
        if not np.array_equal(first, expected_first):
            problems.append("chunk table is not contiguous (first_sample != running sum)")
        if int(count.sum()) != n_total:
            problems.append(f"chunks hold {int(count.sum())} samples, ECoG holds {n_total}")
        link = bytes.fromhex(genesis)
        chain_ok = True
        scale = float(series.conversion) / 1e-6  # stored values -> uV
        window = _Window(samples)
        for k in range(len(digests)):
            if first[k] < 0 or count[k] < 0 or first[k] + count[k] > n_total:
                chain_ok = False
                problems.append(f"chunk {k} points outside the ECoG samples")
                break
            block = window.rows(int(first[k]), int(count[k])).T
            if scale != 1.0:
                block = (block * scale).astype("<f4")
            link = hash_chain.next_link(link, block, float(t_s[k]), int(t_ns[k]))
            if link.hex() != digests[k]:
                chain_ok = False
                problems.append(f"hash chain broken at chunk {k} (t_s={t_s[k]:.3f})")
                break
        if chain_ok and link.hex() != stored_head:
            chain_ok = False
            problems.append("recomputed chain head differs from the stored head")
        if expected_head is not None and expected_head.lower() != link.hex():
            chain_ok = False
            problems.append(f"chain head {link.hex()} differs from expected {expected_head}")
        duration_s = n_total / float(series.rate)
        actual_seal = _check_events(nwb, link.hex(), problems)
        chain_ok &= _check_seal(problems, actual_seal, expected_seal)
        return _result(problems, chain_ok, len(digests), duration_s)
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
