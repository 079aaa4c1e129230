"""Clock offset between base station and implant, measured by round trips over the paired link.

The base sends PING(t1, its clock); the implant answers PONG(t1, t2, its clock); the base, at t4,
has one sample: offset = t2 - (t1 + t4) / 2 (implant minus base), uncertain by half the round
trip. The estimate is the sample with the shortest round trip among the newest `window` (the
NTP-style minimum filter: queueing only ever lengthens a round trip). The base sends the
estimate to the implant in SET(epoch, offset, rtt), and repeats the exchange every
`resync_s` while the link runs, so a drifting crystal is followed.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

KIND_TIME_PING = 2
KIND_TIME_PONG = 3
KIND_TIME_SET = 4
KIND_TIME_ACK = 5
TIME_KINDS = (KIND_TIME_PING, KIND_TIME_PONG, KIND_TIME_SET, KIND_TIME_ACK)

_PING = struct.Struct("<q")
_PONG = struct.Struct("<qq")
_SET = struct.Struct("<qqq")
_ACK = struct.Struct("<q")


def ping(t1_ns: int) -> bytes:
    return _PING.pack(t1_ns)


def pong(t1_ns: int, t2_ns: int) -> bytes:
    return _PONG.pack(t1_ns, t2_ns)


def offset_set(epoch: int, offset_ns: int, rtt_ns: int) -> bytes:
    return _SET.pack(epoch, offset_ns, rtt_ns)


def ack(epoch: int) -> bytes:
    return _ACK.pack(epoch)


def parse(kind: int, payload: bytes) -> tuple[int, ...] | None:
    """The fields of a time payload of `kind`, or None if it is malformed."""
    layout = {
        KIND_TIME_PING: _PING,
        KIND_TIME_PONG: _PONG,
        KIND_TIME_SET: _SET,
        KIND_TIME_ACK: _ACK,
    }.get(kind)
    if layout is None or len(payload) != layout.size:
        return None
    return layout.unpack(payload)


@dataclass(frozen=True)
class OffsetEstimate:
    offset_ns: int  # implant clock minus base clock
    rtt_ns: int  # round trip of the sample it came from (uncertainty <= rtt / 2)
    n_samples: int


class OffsetEstimator:
    """The base side's minimum-round-trip filter over the newest `window` samples."""

    def __init__(self, window: int = 8) -> None:
        if not 1 <= window <= 1024:
            raise ValueError(f"window must be in [1, 1024] samples, got {window}")
        self._samples: deque[tuple[int, int]] = deque(maxlen=window)
        self.n_samples = 0

    def add(self, t1_ns: int, t2_ns: int, t4_ns: int) -> bool:
        """One round trip; False (ignored) if it is impossible (negative or > 10 s)."""
        rtt_ns = t4_ns - t1_ns
        if not 0 <= rtt_ns <= 10**10:
            return False
        self._samples.append((rtt_ns, t2_ns - (t1_ns + t4_ns) // 2))
        self.n_samples += 1
        return True

    def estimate(self) -> OffsetEstimate | None:
        if not self._samples:
            return None
        rtt_ns, offset_ns = min(self._samples)
        return OffsetEstimate(offset_ns, rtt_ns, self.n_samples)
