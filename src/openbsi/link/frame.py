"""The on-air frame layout: header (authenticated as AAD) + ciphertext/tag + CRC32.

    offset  size  field
    0       1     version (FRAME_VERSION)
    1       8     sequence number (unsigned, big-endian; also the AEAD nonce)
    9       8     t_ns, the sender's time.monotonic_ns() at sealing (signed)
    17      4     payload length in bytes (plaintext; ciphertext adds TAG_BYTES)
    21      n+16  ciphertext + Poly1305/GCM tag
    37+n    4     CRC32 over everything before it

The CRC catches radio bit errors cheaply (a frame that fails it is "corrupt", not an attack);
the AEAD tag catches anything that was changed on purpose and re-CRC'd ("forged").
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Final

from openbsi.link.errors import LinkRejected

FRAME_VERSION: Final[int] = 1
HEADER = struct.Struct(">BQqI")
HEADER_BYTES: Final[int] = HEADER.size  # 21
TAG_BYTES: Final[int] = 16
CRC_BYTES: Final[int] = 4
OVERHEAD_BYTES: Final[int] = HEADER_BYTES + TAG_BYTES + CRC_BYTES
MAX_PAYLOAD_BYTES: Final[int] = 65_536
MAX_SEQUENCE: Final[int] = 2**64 - 1


@dataclass(frozen=True)
class FrameHeader:
    version: int
    sequence: int
    t_ns: int
    length: int

    def pack(self) -> bytes:
        return HEADER.pack(self.version, self.sequence, self.t_ns, self.length)


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def assemble(header: FrameHeader, ciphertext: bytes) -> bytes:
    """header + ciphertext + CRC32 of both."""
    body = header.pack() + ciphertext
    return body + crc32(body).to_bytes(CRC_BYTES, "big")


def split(frame: bytes) -> tuple[FrameHeader, bytes, bytes]:
    """Check size and CRC, parse the header: (header, header bytes, ciphertext).

    Raises LinkRejected("malformed") for a frame that cannot be a frame, ("corrupt") for a CRC
    mismatch.
    """
    if not isinstance(frame, bytes | bytearray | memoryview):
        raise LinkRejected("malformed", f"frame must be bytes, got {type(frame).__name__}")
    frame = bytes(frame)
    if len(frame) < OVERHEAD_BYTES:
        raise LinkRejected(
            "malformed", f"frame length must be >= {OVERHEAD_BYTES} bytes, got {len(frame)}"
        )
    body, crc = frame[:-CRC_BYTES], int.from_bytes(frame[-CRC_BYTES:], "big")
    if crc32(body) != crc:
        raise LinkRejected("corrupt", "CRC32 mismatch")
    header_bytes = body[:HEADER_BYTES]
    version, sequence, t_ns, length = HEADER.unpack(header_bytes)
    if version != FRAME_VERSION:
        raise LinkRejected("malformed", f"version must be {FRAME_VERSION}, got {version}")
    ciphertext = body[HEADER_BYTES:]
    if length > MAX_PAYLOAD_BYTES or length + TAG_BYTES != len(ciphertext):
        raise LinkRejected(
            "malformed",
            f"length field must equal the payload size ({len(ciphertext) - TAG_BYTES}) and be "
            f"<= {MAX_PAYLOAD_BYTES}, got {length}",
        )
    return FrameHeader(version, sequence, t_ns, length), header_bytes, ciphertext
