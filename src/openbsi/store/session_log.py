"""The crash-safe, append-only session log (facts.md "Security and data integrity").

Every call of SessionRecorder appends one framed record (framing.py) with a single unbuffered
os.write, so a killed process loses nothing the kernel already holds; a background thread
fsyncs the file every `sync_interval_s` (<= 1 s) when something was appended, so the caller
never waits for the disk, and close() fsyncs once more; the folder is fsynced at creation so
the file itself survives a power cut. Nothing is kept in RAM.

A write error (a full disk, ENOSPC) never raises into the session loop: the partial record is
cut off, the record is counted as dropped, `write_error` keeps the error, and writing resumes
with a DROPPED record as soon as the disk accepts data again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from openbsi.signals.types import StreamInfo
from openbsi.states import N_STATES
from openbsi.store import hash_chain
from openbsi.store.digests import StreamDigests, seal
from openbsi.store.framing import MAGIC, RecordType, encode_payload, frame
from openbsi.store.log_reader import EVENT_LISTS, read_log

LOG_NAME = "session.obsilog"
# The monotonic stamps of one decode tick, in the order the data flows, and the hops between
# them: the loop writes these, the report reads them back.
LATENCY_KEYS = ("acquired", "features", "decoded", "safety", "stimulated")
LATENCY_HOPS: dict[str, tuple[str, str]] = {
    "acquire->features": ("acquired", "features"),
    "features->decoder": ("features", "decoded"),
    "decoder->safety": ("decoded", "safety"),
    "safety->stimulator": ("safety", "stimulated"),
    "end_to_end": ("acquired", "stimulated"),
}

__all__ = ["LATENCY_HOPS", "LATENCY_KEYS", "LOG_NAME", "SessionRecorder", "read_log"]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SessionRecorder:
    """Append-only recorder of one session: creates `folder/session.obsilog`.

    A log already in the folder is renamed to session-<its mtime>.obsilog, never overwritten.
    """

    def __init__(
        self,
        folder: Path,
        info: StreamInfo,
        *,
        description: str = "",
        meta: dict | None = None,
        sync_interval_s: float = 0.5,
        session_id: str | None = None,
    ) -> None:
        if not 0 < sync_interval_s <= 1.0:
            raise ValueError(f"sync_interval_s must be in (0, 1] s, got {sync_interval_s}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / LOG_NAME
        if self.path.exists():  # never overwrite a recording: keep the previous one aside
            stamp = dt.datetime.fromtimestamp(self.path.stat().st_mtime, dt.UTC)
            kept = self.folder / f"session-{stamp:%Y%m%dT%H%M%S%f}.obsilog"
            self.path.rename(kept)
        self.info = info
        self.session_id = session_id or uuid.uuid4().hex
        self.write_error: OSError | None = None
        self.dropped_records = 0
        self.n_chunks = 0
        self._dropped_pending = 0
        self._sync_interval_s = sync_interval_s
        self._head = hash_chain.genesis(self.session_id)
        self._digests = StreamDigests()
        self._lock = threading.Lock()
        self._dirty = False
        self._closed = False
        self.n_syncs = 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self._offset = 0
        self._write_all(MAGIC)
        header = {
            "format": "openbsi-session-log",
            "version": 1,
            "session_id": self.session_id,
            "start_time": dt.datetime.now(dt.UTC).isoformat(),
            "description": description,
            "meta": meta or {},
            "chain_genesis": self._head.hex(),
            "info": {
                "name": info.name,
                "sfreq_hz": info.sfreq_hz,
                "channel_names": list(info.channel_names),
                "unit": info.unit,
                "channel_meta": [dict(m) for m in info.channel_meta],
            },
        }
        if not self._append(RecordType.HEADER, encode_payload(header)):
            os.close(self._fd)  # a recording that cannot even start must say so at once
            raise self.write_error or OSError(f"cannot write the log header to {self.path}")
        os.fsync(self._fd)
        _fsync_dir(self.folder)
        self._stop = threading.Event()
        self._syncer = threading.Thread(target=self._sync_loop, name="obsilog-sync", daemon=True)
        self._syncer.start()

    # ----------------------------------------------------------------- low level
    def _os_write(self, fd: int, data: memoryview) -> int:
        """One write system call (a seam for tests that simulate a full disk)."""
        return os.write(fd, data)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = self._os_write(self._fd, view)
            self._offset += written
            view = view[written:]

    def _append(
        self, record_type: RecordType, payload: bytes, on_written: Callable[[], None] | None = None
    ) -> bool:
        """Append one record; False (and the record counted as dropped) on a write error.

        on_written runs under the lock once the record is stored (digests follow file order).
        """
        with self._lock:
            if self._closed:
                raise ValueError("the recorder is closed; no record can be appended")
            if self._dropped_pending and not self._try_write(
                frame(RecordType.DROPPED, encode_payload({"count": self._dropped_pending}))
            ):
                self._drop()
                return False
            self._dropped_pending = 0
            if not self._try_write(frame(record_type, payload)):
                self._drop()
                return False
            self._dirty = True
            if on_written is not None:
                on_written()
            return True

    def _try_write(self, record: bytes) -> bool:
        start = self._offset
        try:
            self._write_all(record)
            return True
        except OSError as error:
            self.write_error = error
            with contextlib.suppress(OSError):  # cut the partial record: later ones stay readable
                os.ftruncate(self._fd, start)
            self._offset = start
            return False

    def _drop(self) -> None:
        self.dropped_records += 1
        self._dropped_pending += 1

    def _fsync(self) -> None:
        try:
            os.fsync(self._fd)
        except OSError as error:
            self.write_error = error
        self.n_syncs += 1

    def _sync_loop(self) -> None:
        """fsync whatever was appended, every sync_interval_s, off the caller's thread: the
        session loop never waits for the disk (fsync does not need the append lock)."""
        while not self._stop.wait(self._sync_interval_s):
            with self._lock:
                dirty, self._dirty = self._dirty, False
            if dirty:
                self._fsync()

    def _event(self, record_type: RecordType, **fields: object) -> None:
        stream = EVENT_LISTS.get(record_type)
        self._append(
            record_type,
            encode_payload(fields),
            None if stream is None else lambda: self._digests.event(stream, fields),
        )

    # ------------------------------------------------------------------ records
    def ecog(self, data: np.ndarray, t_s: float, t_ns: int) -> None:
        """A chunk of ECoG, channels x samples in uV; t_s = session time of its first sample."""
        block = np.ascontiguousarray(data, dtype="<f4")
        if block.ndim != 2 or block.shape[0] != self.info.n_channels:
            raise ValueError(
                f"data must be (n_channels={self.info.n_channels}, n_samples), "
                f"got shape {np.shape(data)}"
            )
        link = hash_chain.next_link(self._head, block, t_s, t_ns)
        payload = encode_payload(
            {"t_s": float(t_s), "t_ns": int(t_ns), "sha256": link.hex()}, (block,)
        )

        def advance() -> None:
            self._head = link
            self.n_chunks += 1

        self._append(RecordType.ECOG, payload, advance)

    def intent(self, start_s: float, stop_s: float, state: str, amplitude: float) -> None:
        self._event(
            RecordType.INTENT,
            start_s=float(start_s),
            stop_s=float(stop_s),
            state=str(state),
            amplitude=float(amplitude),
        )

    def phase(self, start_s: float, stop_s: float, name: str) -> None:
        self._event(RecordType.PHASE, start_s=float(start_s), stop_s=float(stop_s), name=str(name))

    def decode(self, t_s: float, state: str, probs: np.ndarray, amplitude: float) -> None:
        """One decoder output; probs in openbsi.states.STATES order."""
        if np.size(probs) != N_STATES:
            raise ValueError(
                f"probs must hold {N_STATES} values (one per state in STATES), got {np.size(probs)}"
            )
        self._event(
            RecordType.DECODE,
            t_s=float(t_s),
            state=str(state),
            probs=[float(p) for p in np.asarray(probs, dtype=float).ravel()],
            amplitude=float(amplitude),
        )

    def stim_command(
        self, t_s: float, seq: int, state: str, vetoed: bool, clamped: bool, channels: list[dict]
    ) -> None:
        rows = [
            {
                "electrode": int(c["electrode"]),
                "amplitude_ma": float(c["amplitude_ma"]),
                "pulse_width_us": float(c["pulse_width_us"]),
                "frequency_hz": float(c["frequency_hz"]),
            }
            for c in channels
        ]
        self._event(
            RecordType.STIM_COMMAND,
            t_s=float(t_s),
            seq=int(seq),
            state=str(state),
            vetoed=bool(vetoed),
            clamped=bool(clamped),
            channels=rows,
        )

    def safety_event(
        self,
        t_s: float,
        rule: str,
        field: str,
        value: float,
        limit: float,
        action: str,
        electrode: int,
    ) -> None:
        self._event(
            RecordType.SAFETY_EVENT,
            t_s=float(t_s),
            rule=str(rule),
            field=str(field),
            value=float(value),
            limit=float(limit),
            action=str(action),
            electrode=int(electrode),
        )

    def pulses(
        self,
        t_s: np.ndarray,
        electrode: np.ndarray,
        amplitude_ma: np.ndarray,
        pulse_width_us: np.ndarray,
    ) -> None:
        arrays = (
            np.asarray(t_s, dtype="<f8").ravel(),
            np.asarray(electrode, dtype="<i4").ravel(),
            np.asarray(amplitude_ma, dtype="<f8").ravel(),
            np.asarray(pulse_width_us, dtype="<f8").ravel(),
        )
        if len({a.size for a in arrays}) != 1:
            raise ValueError(
                "t_s, electrode, amplitude_ma and pulse_width_us must have equal lengths, "
                f"got {[a.size for a in arrays]}"
            )
        if arrays[0].size:
            columns = dict(
                zip(("t_s", "electrode", "amplitude_ma", "pulse_width_us"), arrays, strict=True)
            )
            self._append(
                RecordType.PULSES, encode_payload({}, arrays), lambda: self._digests.pulses(columns)
            )

    def latency(self, tick: int, stamps_ns: dict[str, int]) -> None:
        """Stamps of one tick; a hop that did not happen (e.g. a vetoed command) may be left
        out and is stored as -1 (metrics skip it)."""
        unknown = sorted(set(stamps_ns) - set(LATENCY_KEYS))
        if unknown:
            raise ValueError(f"stamps_ns keys must be among {LATENCY_KEYS}, got {unknown}")
        stamps = {k: int(stamps_ns.get(k, -1)) for k in LATENCY_KEYS}
        self._event(RecordType.LATENCY, tick=int(tick), stamps_ns=stamps)

    def gait_event(
        self, t_s: float, side: str, length_m: float, clearance_m: float, failed: bool
    ) -> None:
        self._event(
            RecordType.GAIT_EVENT,
            t_s=float(t_s),
            side=str(side),
            length_m=float(length_m),
            clearance_m=float(clearance_m),
            failed=bool(failed),
        )

    def kinematics(self, t_s: np.ndarray, columns: dict[str, np.ndarray]) -> None:
        times = np.asarray(t_s, dtype="<f8").ravel()
        names = sorted(columns)
        values = [np.asarray(columns[n], dtype="<f8").ravel() for n in names]
        bad = [n for n, v in zip(names, values, strict=True) if v.size != times.size]
        if bad or "t_s" in columns:
            raise ValueError(
                f"kinematics columns must each hold len(t_s)={times.size} values and not be "
                f"named 't_s'; offending columns: {bad or ['t_s']}"
            )
        if times.size:
            payload = encode_payload({"columns": names}, (times, *values))
            self._append(RecordType.KINEMATICS, payload)

    def annotation(self, t_s: float, text: str, author: str = "") -> None:
        """A note at session time t_s, stored with the ECoG sample index it refers to."""
        sample = max(0, round(float(t_s) * self.info.sfreq_hz))
        self._append(
            RecordType.ANNOTATION,
            encode_payload(
                {"t_s": float(t_s), "sample": int(sample), "text": str(text), "author": author}
            ),
        )

    def stimulation_electrodes(self, electrodes: list[dict]) -> None:
        self._event(RecordType.STIM_ELECTRODES, electrodes=[dict(e) for e in electrodes])

    def summary(self, name: str, values: dict) -> None:
        """Named figures kept in the recording and copied into metrics.json under `name`
        (e.g. "link": frames_sent, frames_lost, ...; "safety": watchdog_trips, overruns, ...).
        Values must be JSON-serialisable; a later summary of the same name replaces it."""
        if not name or not isinstance(values, dict):
            raise ValueError(
                f"summary needs a non-empty name and a dict, got {name!r}, {type(values).__name__}"
            )
        stored = json.loads(json.dumps(values, allow_nan=True))  # as a reader will see it

        def remember() -> None:
            self._digests.summaries[str(name)] = stored

        self._append(
            RecordType.SUMMARY, encode_payload({"name": str(name), "values": stored}), remember
        )

    # -------------------------------------------------------------------- close
    @property
    def log_path(self) -> Path:
        """The log file (folder/session.obsilog)."""
        return self.path

    @property
    def chain_head(self) -> str:
        """Hex of the last link of the ECoG hash chain."""
        return self._head.hex()

    @property
    def seal(self) -> str:
        """ECoG chain head + event digests in one hex value: publish it to pin the recording
        (`openbsi recording verify FILE --seal HEX`)."""
        with self._lock:
            return seal(self._head.hex(), self._digests.hexdigests())

    def close(self) -> None:
        """Write the closing record, fsync and release the file. Safe to call twice."""
        if self._closed:
            return
        self._event(
            RecordType.CLOSE,
            end_time=dt.datetime.now(dt.UTC).isoformat(),
            chain_head=self._head.hex(),
            chunks=self.n_chunks,
            dropped_records=self.dropped_records,
            digests=self._digests.hexdigests(),
            seal=self.seal,
        )
        self._stop.set()
        self._syncer.join()  # no fsync in flight once we close the descriptor
        with self._lock:
            self._closed = True
            self._fsync()
            os.close(self._fd)

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
