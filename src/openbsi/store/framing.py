"""Framed records for the append-only session log (LevelDB-style: checksum, length, type).

Layout of a log file: an 8-byte magic, then records. Each record is a 10-byte header
`<I I H>` = CRC32, payload length, record type, followed by the payload. The CRC covers the
length, the type and the payload, so a torn or flipped header is caught as well as a damaged
payload. A reader stops at the first record that is short or fails its CRC (a torn tail).

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

MAGIC = b"OBSILOG\x01"
HEADER = struct.Struct("<IIH")  # crc32, payload length, record type
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


def encode_payload(meta: dict, arrays: tuple[np.ndarray, ...] = ()) -> bytes:
    """JSON metadata plus raw little-endian arrays, described inside the JSON."""
    blobs = [np.ascontiguousarray(a) for a in arrays]
    described = dict(meta)
    if blobs:
        described["_arrays"] = [[a.dtype.str, list(a.shape)] for a in blobs]
    text = json.dumps(described, separators=(",", ":"), allow_nan=True).encode()
    return b"".join([struct.pack("<I", len(text)), text, *(a.tobytes() for a in blobs)])


def decode_payload(payload: bytes) -> tuple[dict, list[np.ndarray]]:
    """Inverse of encode_payload; arrays are copies (they do not pin the payload)."""
    (n_text,) = struct.unpack_from("<I", payload, 0)
    meta = json.loads(payload[4 : 4 + n_text])
    arrays: list[np.ndarray] = []
    offset = 4 + n_text
    for dtype_str, shape in meta.pop("_arrays", []):
        dtype = np.dtype(dtype_str)
        count = int(np.prod(shape)) if shape else 1
        flat = np.frombuffer(payload, dtype=dtype, count=count, offset=offset)
        arrays.append(flat.reshape(shape).copy())
        offset += count * dtype.itemsize
    if offset != len(payload):
        raise ValueError(f"payload length {len(payload)} does not match its arrays ({offset})")
    return meta, arrays


def frame(record_type: RecordType, payload: bytes) -> bytes:
    """One framed record, ready to append."""
    length_type = struct.pack("<IH", len(payload), int(record_type))
    crc = zlib.crc32(payload, zlib.crc32(length_type))
    return HEADER.pack(crc, len(payload), int(record_type)) + payload


@dataclass(frozen=True)
class ScanResult:
    """Where a scan stopped and why (empty reason: the file ended cleanly)."""

    end_offset: int
    file_size: int
    reason: str


def iter_records(stream: BinaryIO, result: list[ScanResult]) -> Iterator[tuple[int, bytes]]:
    """Yield (record_type, payload) until the end or the first bad record.

    Appends one ScanResult to `result` when done, so callers learn about a torn tail.
    """
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    if stream.read(len(MAGIC)) != MAGIC:
        raise ValueError("not an OpenBSI session log (bad magic); expected an .obsilog file")
    offset = len(MAGIC)
    reason = ""
    while offset < size:
        head = stream.read(HEADER.size)
        if len(head) < HEADER.size:
            reason = f"torn record header at byte {offset}"
            break
        crc, length, record_type = HEADER.unpack(head)
        if length > MAX_PAYLOAD_BYTES or offset + HEADER.size + length > size:
            reason = f"torn or corrupt record at byte {offset} (length {length})"
            break
        payload = stream.read(length)
        if zlib.crc32(payload, zlib.crc32(struct.pack("<IH", length, record_type))) != crc:
            reason = f"CRC mismatch in record at byte {offset}"
            break
        offset += HEADER.size + length
        yield record_type, payload
    result.append(ScanResult(end_offset=offset, file_size=size, reason=reason))
