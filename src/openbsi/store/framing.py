"""Framed records for the append-only session log (LevelDB-style: checksum, length, type).

Layout of a log file: an 8-byte magic, then records. Each record is a 14-byte header
`<4s I I H>` = sync marker, CRC32, payload length, record type, followed by the payload. The
CRC covers the length, the type and the payload, so a torn or flipped header is caught as well
as a damaged payload. A damaged record in the middle is skipped (the reader resyncs on the next
marker whose record passes its CRC, as LevelDB skips a bad block); damage at the end is a torn
tail, where reading stops.

Payloads are `u32 json_length + JSON + raw array bytes`: the JSON says the dtype and shape of
each array, in order, so one codec serves small events and large sample blocks alike.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import BinaryIO

import numpy as np

MAGIC = b"OBSILOG\x02"
SYNC = b"\xb5\x1a\x0b\x5e"  # starts every record, so a reader can resync after damage
HEADER = struct.Struct("<4sIIH")  # sync marker, crc32, payload length, record type
MAX_PAYLOAD_BYTES = 1 << 30  # a length above this is treated as corruption


class RecordType(IntEnum):
    HEADER = 1
    ECOG = 2
    INTENT = 3
    PHASE = 4
    DECODE = 5
    STIM_COMMAND = 6
    SAFETY_EVENT = 7
    PULSES = 8
    LATENCY = 9
    GAIT_EVENT = 10
    KINEMATICS = 11
    STIM_ELECTRODES = 12
    DROPPED = 13  # records lost to a write error (e.g. a full disk), written once writes resume
    CLOSE = 14
    SUMMARY = 15  # a named dict of figures (e.g. link quality) for metrics.json
    ANNOTATION = 16  # a note typed during the session, at the session time it refers to


def encode_payload(meta: dict, arrays: tuple[np.ndarray, ...] = ()) -> bytes:
    """JSON metadata plus raw little-endian arrays, described inside the JSON."""
    blobs = [np.ascontiguousarray(a) for a in arrays]
    described = dict(meta)
    if blobs:
        described["_arrays"] = [[a.dtype.str, list(a.shape)] for a in blobs]
    text = json.dumps(described, separators=(",", ":"), allow_nan=True).encode()
    return b"".join([struct.pack("<I", len(text)), text, *(a.tobytes() for a in blobs)])


def decode_payload(
    payload: bytes | memoryview, *, copy: bool = True
) -> tuple[dict, list[np.ndarray]]:
    """Inverse of encode_payload. Arrays are copies unless copy=False (then they are views
    valid only as long as the payload buffer is)."""
    (n_text,) = struct.unpack_from("<I", payload, 0)
    meta = json.loads(bytes(payload[4 : 4 + n_text]))
    arrays: list[np.ndarray] = []
    offset = 4 + n_text
    for dtype_str, shape in meta.pop("_arrays", []):
        dtype = np.dtype(dtype_str)
        count = int(np.prod(shape)) if shape else 1
        flat = np.frombuffer(payload, dtype=dtype, count=count, offset=offset)
        arrays.append(flat.reshape(shape).copy() if copy else flat.reshape(shape))
        offset += count * dtype.itemsize
    if offset != len(payload):
        raise ValueError(f"payload length {len(payload)} does not match its arrays ({offset})")
    return meta, arrays


def frame(record_type: RecordType, payload: bytes) -> bytes:
    """One framed record, ready to append."""
    length_type = struct.pack("<IH", len(payload), int(record_type))
    crc = zlib.crc32(payload, zlib.crc32(length_type))
    return HEADER.pack(SYNC, crc, len(payload), int(record_type)) + payload


@dataclass(frozen=True)
class ScanResult:
    """Where a scan stopped and why (empty reason: the file ended cleanly), and the damaged
    stretches it skipped on the way as (offset, n_bytes)."""

    end_offset: int
    file_size: int
    reason: str
    skipped: tuple[tuple[int, int], ...] = ()


class _Buffer:
    """One reusable read buffer: no allocation per record, so a long read does not fragment
    the heap (per-record bytes objects interleaved with kept events grew RSS with the log)."""

    def __init__(self) -> None:
        self._data = bytearray(1 << 16)

    def view(self, length: int) -> memoryview:
        if length > len(self._data):
            self._data = bytearray(max(length, 2 * len(self._data)))  # old views stay valid
        return memoryview(self._data)[:length]


def _read_record(
    stream: BinaryIO, offset: int, size: int, buffer: _Buffer
) -> tuple[int, memoryview] | str:
    """The record at offset (its payload a view into buffer), or why there is none."""
    stream.seek(offset)
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return f"torn record header at byte {offset}"
    sync, crc, length, record_type = HEADER.unpack(head)
    if sync != SYNC:
        return f"no record marker at byte {offset}"
    if length > MAX_PAYLOAD_BYTES or offset + HEADER.size + length > size:
        return f"torn or corrupt record at byte {offset} (length {length})"
    payload = buffer.view(length)
    if stream.readinto(payload) != length:
        return f"torn record at byte {offset}"
    if zlib.crc32(payload, zlib.crc32(struct.pack("<IH", length, record_type))) != crc:
        return f"CRC mismatch in record at byte {offset}"
    return record_type, payload


def _next_sync(stream: BinaryIO, start: int, size: int) -> int:
    """Offset of the next record marker at or after start; -1 if none."""
    window = 1 << 20
    position = start
    while position < size:
        stream.seek(position)
        block = stream.read(window + len(SYNC) - 1)
        found = block.find(SYNC)
        if found >= 0:
            return position + found
        position += window
    return -1


def iter_records(stream: BinaryIO, result: list[ScanResult]) -> Iterator[tuple[int, memoryview]]:
    """Yield (record_type, payload) for every intact record. The payload is a view into a
    reused buffer: decode it before asking for the next record.

    A damaged record in the middle is skipped by searching for the next record marker whose
    record checks out (its CRC); damage with no intact record after it is a torn tail, where
    the scan stops. Appends one ScanResult to `result` when done.
    """
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    if stream.read(len(MAGIC)) != MAGIC:
        raise ValueError("not an OpenBSI session log (bad magic); expected an .obsilog file")
    offset = len(MAGIC)
    reason = ""
    skipped: list[tuple[int, int]] = []
    buffer = _Buffer()
    while offset < size:
        record = _read_record(stream, offset, size, buffer)
        if isinstance(record, str):
            candidate = _next_sync(stream, offset + 1, size)
            while candidate >= 0 and isinstance(_read_record(stream, candidate, size, buffer), str):
                candidate = _next_sync(stream, candidate + 1, size)
            if candidate < 0:
                reason = record
                break
            skipped.append((offset, candidate - offset))
            offset = candidate
            continue
        record_type, payload = record
        offset += HEADER.size + len(payload)
        yield record_type, payload
    result.append(ScanResult(offset, size, reason, tuple(skipped)))
