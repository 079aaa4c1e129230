"""Live view: tail a session's crash-safe log and fan its records out to page subscribers.

One LogTail per session reads the records appended since its last read (a torn last record
waits for the next read; a damaged one is skipped at the next record marker), turns each into a
small JSON event and hands it to every subscriber queue. The session process is the log's only
writer; nothing here can slow it (we only read its file).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from openbsi.states import STATES
from openbsi.store.framing import HEADER, MAGIC, MAX_PAYLOAD_BYTES, SYNC, RecordType, decode_payload
from openbsi.store.session_log import LATENCY_HOPS, LOG_NAME

logger = logging.getLogger(__name__)
POLL_S = 0.02  # the log is read every 20 ms: well inside the 250 ms event-to-page bar
MAX_QUEUE = 2000  # a subscriber this far behind is dropped (it reconnects and resumes)


def _event(record_type: int, payload: memoryview) -> dict[str, Any] | None:
    """The page's view of one record (None for records the page does not show)."""
    kind = RecordType(record_type) if record_type in RecordType._value2member_map_ else None
    if kind in (RecordType.ECOG, RecordType.KINEMATICS, RecordType.STIM_ELECTRODES, None):
        return None
    meta, arrays = decode_payload(payload)
    if kind == RecordType.DECODE:
        return {"type": "decode", **meta, "states": list(STATES)}
    if kind == RecordType.STIM_COMMAND:
        return {"type": "command", **meta}
    if kind == RecordType.PULSES:
        electrodes, counts = np.unique(arrays[1], return_counts=True)
        return {
            "type": "pulses",
            "t_s": float(arrays[0][-1]),
            "per_electrode": {str(int(e)): int(n) for e, n in zip(electrodes, counts, strict=True)},
            "max_amplitude_ma": float(arrays[2].max()),
        }
    if kind == RecordType.SAFETY_EVENT:
        return {"type": "safety", **meta}
    if kind == RecordType.LATENCY:
        stamps = meta["stamps_ns"]
        hops = {
            hop: (stamps[b] - stamps[a]) / 1e6
            for hop, (a, b) in LATENCY_HOPS.items()
            if stamps.get(a, -1) >= 0 and stamps.get(b, -1) >= 0
        }
        return {"type": "latency", "tick": meta["tick"], "hops_ms": hops, "stamps_ns": stamps}
    if kind == RecordType.GAIT_EVENT:
        return {"type": "gait", **meta}
    if kind == RecordType.SUMMARY:
        return {"type": "summary", **meta}
    if kind == RecordType.ANNOTATION:
        return {"type": "annotation", **meta}
    if kind == RecordType.PHASE:
        return {"type": "phase", **meta}
    if kind == RecordType.CLOSE:
        return {"type": "closed", "end_time": meta.get("end_time")}
    if kind == RecordType.HEADER:
        return {
            "type": "header",
            "session_id": meta["session_id"],
            "sfreq_hz": meta["info"]["sfreq_hz"],
        }
    return None


class LogTail:
    """Incremental reader of one session log (never blocks on a partial record)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.closed = False
        self._buffer = bytearray()

    def read_new(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as stream:
                stream.seek(self.offset + len(self._buffer))
                chunk = stream.read(1 << 22)
        except FileNotFoundError:
            return []
        self._buffer += chunk
        events: list[dict[str, Any]] = []
        view = memoryview(bytes(self._buffer))  # a copy: the buffer can shrink below
        position = 0
        if self.offset == 0:
            if len(view) < len(MAGIC):
                return []
            if bytes(view[: len(MAGIC)]) != MAGIC:
                raise ValueError(f"{self.path}: not an OpenBSI session log")
            position = len(MAGIC)
        while len(view) - position >= HEADER.size:
            sync, crc, length, record_type = HEADER.unpack_from(view, position)
            if sync != SYNC or length > MAX_PAYLOAD_BYTES:
                found = bytes(view[position + 1 :]).find(SYNC)  # damaged: resync
                position = position + 1 + found if found >= 0 else len(view)
                continue
            end = position + HEADER.size + length
            if end > len(view):
                break  # the rest of this record is not written yet
            payload = view[position + HEADER.size : end]
            check = zlib.crc32(payload, zlib.crc32(struct.pack("<IH", length, record_type)))
            if check == crc:
                event = _event(record_type, payload)
                if event is not None:
                    events.append(event)
                    if event["type"] == "closed":
                        self.closed = True
            position = end if check == crc else position + 1
        self.offset += position
        del self._buffer[:position]
        return events


class LiveHub:
    """One tail task per session, shared by all its subscribers."""

    def __init__(self) -> None:
        self._subscribers: dict[int, set[asyncio.Queue]] = {}
        self._tasks: dict[int, asyncio.Task] = {}
        self._history: dict[int, list[str]] = {}  # the newest events, for late subscribers
        self._waiters: dict[int, list[tuple[str, asyncio.Future]]] = {}

    def subscribe(self, session_id: int, run_dir: Path) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(MAX_QUEUE)
        self._subscribers.setdefault(session_id, set()).add(queue)
        for message in self._history.get(session_id, [])[-100:]:
            queue.put_nowait(message)
        self.ensure(session_id, run_dir)
        return queue

    def unsubscribe(self, session_id: int, queue: asyncio.Queue) -> None:
        self._subscribers.get(session_id, set()).discard(queue)

    def ensure(self, session_id: int, run_dir: Path) -> None:
        task = self._tasks.get(session_id)
        if task is None or task.done():
            self._tasks[session_id] = asyncio.get_running_loop().create_task(
                self._run(session_id, Path(run_dir) / LOG_NAME)
            )

    def expect(self, session_id: int, run_dir: Path, kind: str) -> asyncio.Future:
        """A future for the next event of `kind` (e.g. the supervisor's emergency stop),
        registered before the command that causes it is sent (no race with the tail)."""
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(session_id, []).append((kind, future))
        self.ensure(session_id, run_dir)
        return future

    async def wait(self, session_id: int, future: asyncio.Future, timeout_s: float):
        """The awaited event, or None after timeout_s."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            return None
        finally:
            self.forget(session_id, future)

    def forget(self, session_id: int, future: asyncio.Future) -> None:
        for entry in list(self._waiters.get(session_id, [])):
            if entry[1] is future:
                self._waiters[session_id].remove(entry)

    async def _run(self, session_id: int, path: Path) -> None:
        try:
            await self._tail(session_id, path)
        except Exception:
            logger.exception("live view of session %d stopped", session_id)
            raise

    async def _tail(self, session_id: int, path: Path) -> None:
        tail = LogTail(path)
        history = self._history.setdefault(session_id, [])
        idle_since = time.monotonic()
        while True:
            events = await asyncio.to_thread(tail.read_new) if path.exists() else []
            if events:
                # one message per read (a tick's records together): fewer writes per viewer
                message = f"data: {json.dumps(_finite(events), allow_nan=False)}\n\n"
                history.append(message)
                for queue in list(self._subscribers.get(session_id, ())):
                    try:
                        queue.put_nowait(message)
                    except asyncio.QueueFull:
                        self._subscribers[session_id].discard(queue)
            for event in events:
                for kind, future in list(self._waiters.get(session_id, [])):
                    if _matches(event, kind) and not future.done():
                        future.set_result(event)
            del history[:-200]
            if tail.closed:
                for queue in list(self._subscribers.get(session_id, ())):
                    queue.put_nowait("event: end\ndata: {}\n\n")
                return
            if self._subscribers.get(session_id) or self._waiters.get(session_id):
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 30:
                return  # nobody watching: stop tailing (restarted by the next subscriber)
            await asyncio.sleep(POLL_S)


def _matches(event: dict, kind: str) -> bool:
    if kind == "estop":
        return event["type"] == "safety" and event.get("rule") == "emergency_stop"
    return event["type"] == kind


def _finite(value: Any) -> Any:
    """JSON for a browser: non-finite numbers become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
