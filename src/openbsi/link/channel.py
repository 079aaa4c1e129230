"""A simulated radio between two endpoints: bytes in, (late, lost, doubled, damaged) bytes out.

Besides radio faults it can play an attacker on the air (FaultConfig forge/tamper/replay), so
a fault run shows in its metrics that forged, modified and replayed frames are all refused.
Every delivered copy carries its origin ("radio", "forged", "tampered", "replayed") for that
accounting; the receiving endpoint never sees it.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

from openbsi.link.faults import FaultConfig
from openbsi.link.frame import CRC_BYTES, FRAME_VERSION, HEADER, HEADER_BYTES, crc32

# A held-back (reordered) frame that is not overtaken within this time goes out anyway.
REORDER_HOLD_NS = 200_000_000
CAPTURED_FRAMES = 256  # what the attacker remembers for replays
ORIGINS = ("radio", "forged", "tampered", "replayed")


@dataclass
class ChannelStats:
    sent: int = 0  # frames handed to send()
    lost: int = 0  # frames never delivered (random/bursty loss and link drop)
    dropped_link_down: int = 0  # of `lost`, those sent while the link was down
    duplicated: int = 0  # extra copies delivered
    corrupted: int = 0  # delivered copies with a flipped bit
    reordered: int = 0  # frames held back and delivered after a later one
    delivered: int = 0  # copies returned by receive(), injected ones included
    injected_forged: int = 0
    injected_tampered: int = 0
    injected_replayed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class FaultyChannel:
    """One direction of a radio link with the faults of `config`, driven by `rng`.

    send(frame, t_ns) schedules the frame; receive(now_ns) returns, oldest arrival first, every
    copy whose arrival time is <= now_ns. Time is whatever clock the caller uses (ns).
    """

    def __init__(self, config: FaultConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng
        self.stats = ChannelStats()
        self._queue: list[tuple[int, int, bytes, str]] = []  # (arrival_ns, order, frame, origin)
        self._held: list[tuple[int, bytes]] = []  # reordered, waiting to be overtaken
        self._order = 0
        self._bad = False  # Gilbert-Elliott state
        self._first_t_ns: int | None = None
        self._captured: deque[bytes] = deque(maxlen=CAPTURED_FRAMES)
        c = config
        if c.burst_len > 1.0 and 0.0 < c.loss < 1.0:
            self._p_bad_to_good = 1.0 / c.burst_len
            self._p_good_to_bad = c.loss * self._p_bad_to_good / (1.0 - c.loss)
        else:
            self._p_bad_to_good = self._p_good_to_bad = 0.0

    # -- radio faults ----------------------------------------------------------------------
    def _link_down(self, t_ns: int) -> bool:
        c = self.config
        if c.drop_after_s is None or self._first_t_ns is None:
            return False
        elapsed_s = (t_ns - self._first_t_ns) / 1e9
        if elapsed_s < c.drop_after_s:
            return False
        return c.drop_for_s is None or elapsed_s < c.drop_after_s + c.drop_for_s

    def _is_lost(self) -> bool:
        c = self.config
        if c.loss <= 0.0:
            return False
        if c.loss >= 1.0:
            return True
        if c.burst_len <= 1.0:
            return bool(self.rng.random() < c.loss)
        # Gilbert-Elliott: move the chain one step per frame, lose every frame in the bad state.
        u = self.rng.random()
        self._bad = bool(u >= self._p_bad_to_good) if self._bad else bool(u < self._p_good_to_bad)
        return self._bad

    def _arrival_ns(self, t_ns: int) -> int:
        c = self.config
        delay_ms = c.latency_ms + (self.rng.uniform(0.0, c.jitter_ms) if c.jitter_ms > 0 else 0.0)
        return int(t_ns + delay_ms * 1e6)

    def _push(self, arrival_ns: int, frame: bytes, origin: str = "radio") -> None:
        self._order += 1
        heapq.heappush(self._queue, (arrival_ns, self._order, frame, origin))

    def _chance(self, p: float) -> bool:
        return p > 0.0 and bool(self.rng.random() < p)

    def send(self, frame: bytes, t_ns: int) -> None:
        """Hand a frame to the radio at time t_ns."""
        frame = bytes(frame)
        if self._first_t_ns is None:
            self._first_t_ns = t_ns
        self.stats.sent += 1
        self._attack(frame, t_ns)
        if self._link_down(t_ns):
            self.stats.lost += 1
            self.stats.dropped_link_down += 1
            return
        if self._is_lost():
            self.stats.lost += 1
            return
        c = self.config
        copies = [self._arrival_ns(t_ns)]
        if self._chance(c.duplicate):
            copies.append(self._arrival_ns(t_ns))
            self.stats.duplicated += 1
        if self._chance(c.reorder):
            self._held.append((copies[0], frame))
            copies = copies[1:]  # a duplicate copy, if any, still goes out on time
        else:
            # This frame overtakes every frame held back before it.
            for held_arrival, held in self._held:
                self._push(max(held_arrival, *copies) + 1, held)
            self.stats.reordered += len(self._held)
            self._held.clear()
        for arrival in copies:
            self._push(arrival, frame)

    def _damage(self, frame: bytes) -> bytes:
        if not self._chance(self.config.corrupt) or not frame:
            return frame
        self.stats.corrupted += 1
        damaged = bytearray(frame)
        bit = int(self.rng.integers(0, 8 * len(damaged)))
        damaged[bit // 8] ^= 1 << (bit % 8)
        return bytes(damaged)

    # -- attacker on the air ---------------------------------------------------------------
    def _attack(self, frame: bytes, t_ns: int) -> None:
        c = self.config
        if self._chance(c.forge) and len(frame) >= HEADER_BYTES + CRC_BYTES:
            self.stats.injected_forged += 1
            self._push(t_ns, self._forged_like(frame, t_ns), "forged")
        if self._chance(c.tamper) and len(frame) > CRC_BYTES:
            self.stats.injected_tampered += 1
            body = bytearray(frame[:-CRC_BYTES])
            bit = int(self.rng.integers(0, 8 * len(body)))
            body[bit // 8] ^= 1 << (bit % 8)
            self._push(t_ns, _with_crc(bytes(body)), "tampered")  # races ahead of the original
        if self._chance(c.replay) and self._captured:
            self.stats.injected_replayed += 1
            old = self._captured[int(self.rng.integers(0, len(self._captured)))]
            self._push(t_ns, old, "replayed")

    def _forged_like(self, frame: bytes, t_ns: int) -> bytes:
        """A well-formed frame the size of `frame`: next sequence numbers, fresh time, random
        ciphertext, valid CRC (what an attacker without the key can do)."""
        _, sequence, _, length = HEADER.unpack(frame[:HEADER_BYTES])
        guess = sequence + int(self.rng.integers(0, 4))
        header = HEADER.pack(FRAME_VERSION, min(guess, 2**64 - 1), t_ns, length)
        ciphertext = self.rng.bytes(len(frame) - HEADER_BYTES - CRC_BYTES)
        return _with_crc(header + ciphertext)

    # -- delivery --------------------------------------------------------------------------
    def receive_tagged(self, now_ns: int) -> list[tuple[bytes, str]]:
        """Like receive(), with each copy's origin (one of ORIGINS) for test accounting."""
        kept = []
        for arrival, frame in self._held:  # not overtaken in time: released, not "reordered"
            if arrival + REORDER_HOLD_NS <= now_ns:
                self._push(arrival + REORDER_HOLD_NS, frame)
            else:
                kept.append((arrival, frame))
        self._held = kept
        out = []
        while self._queue and self._queue[0][0] <= now_ns:
            _, _, frame, origin = heapq.heappop(self._queue)
            if origin == "radio":
                frame = self._damage(frame)
                self._captured.append(frame)
            out.append((frame, origin))
        self.stats.delivered += len(out)
        return out

    def receive(self, now_ns: int) -> list[bytes]:
        """Every copy whose arrival time is <= now_ns, earliest first."""
        return [frame for frame, _ in self.receive_tagged(now_ns)]

    def next_arrival_ns(self) -> int | None:
        """When the next copy arrives (None if nothing is in the air), so a simulated clock can
        deliver frames when they land rather than at the next tick."""
        times = [self._queue[0][0]] if self._queue else []
        times += [arrival + REORDER_HOLD_NS for arrival, _ in self._held]
        return min(times) if times else None

    @property
    def in_flight(self) -> int:
        """Frames sent but not yet delivered."""
        return len(self._queue) + len(self._held)


def _with_crc(body: bytes) -> bytes:
    return body + crc32(body).to_bytes(CRC_BYTES, "big")
