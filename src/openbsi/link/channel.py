"""A simulated radio between two endpoints: bytes in, (late, lost, doubled, damaged) bytes out."""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass

import numpy as np

from openbsi.link.faults import FaultConfig

# A held-back (reordered) frame that is not overtaken within this time goes out anyway.
REORDER_HOLD_NS = 200_000_000


@dataclass
class ChannelStats:
    sent: int = 0  # frames handed to send()
    lost: int = 0  # frames never delivered (random/bursty loss and link drop)
    dropped_link_down: int = 0  # of `lost`, those sent while the link was down
    duplicated: int = 0  # extra copies delivered
    corrupted: int = 0  # delivered copies with a flipped bit
    reordered: int = 0  # frames held back and delivered after a later one
    delivered: int = 0  # copies returned by receive()

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
        self._queue: list[tuple[int, int, bytes]] = []  # (arrival_ns, order, frame)
        self._held: list[tuple[int, int, bytes]] = []  # reordered, waiting to be overtaken
        self._order = 0
        self._bad = False  # Gilbert-Elliott state
        self._first_t_ns: int | None = None
        c = config
        if c.burst_len > 1.0 and 0.0 < c.loss < 1.0:
            self._p_bad_to_good = 1.0 / c.burst_len
            self._p_good_to_bad = c.loss * self._p_bad_to_good / (1.0 - c.loss)
        else:
            self._p_bad_to_good = self._p_good_to_bad = 0.0

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

    def _push(self, arrival_ns: int, frame: bytes) -> None:
        self._order += 1
        heapq.heappush(self._queue, (arrival_ns, self._order, frame))

    def send(self, frame: bytes, t_ns: int) -> None:
        """Hand a frame to the radio at time t_ns."""
        frame = bytes(frame)
        if self._first_t_ns is None:
            self._first_t_ns = t_ns
        self.stats.sent += 1
        if self._link_down(t_ns):
            self.stats.lost += 1
            self.stats.dropped_link_down += 1
            return
        if self._is_lost():
            self.stats.lost += 1
            return
        c = self.config
        arrival = self._arrival_ns(t_ns)
        copies = [arrival]
        if c.duplicate > 0 and self.rng.random() < c.duplicate:
            copies.append(self._arrival_ns(t_ns))
            self.stats.duplicated += 1
        if c.reorder > 0 and self.rng.random() < c.reorder:
            self._order += 1
            self._held.append((arrival, self._order, frame))
            copies = copies[1:]  # a duplicate copy, if any, still goes out on time
        else:
            # This frame overtakes every frame held back before it.
            for held_arrival, _, held in self._held:
                self._push(max(held_arrival, *copies) + 1, held)
            self.stats.reordered += len(self._held)
            self._held.clear()
        for copy_arrival in copies:
            self._push(copy_arrival, frame)

    def _damage(self, frame: bytes) -> bytes:
        if self.config.corrupt <= 0 or self.rng.random() >= self.config.corrupt:
            return frame
        self.stats.corrupted += 1
        damaged = bytearray(frame)
        bit = int(self.rng.integers(0, 8 * len(damaged))) if damaged else 0
        if damaged:
            damaged[bit // 8] ^= 1 << (bit % 8)
        return bytes(damaged)

    def receive(self, now_ns: int) -> list[bytes]:
        """Every copy whose arrival time is <= now_ns, earliest first."""
        kept = []
        for held in self._held:  # not overtaken in time: released, not counted as reordered
            if held[0] + REORDER_HOLD_NS <= now_ns:
                self._push(held[0] + REORDER_HOLD_NS, held[2])
            else:
                kept.append(held)
        self._held = kept
        out = []
        while self._queue and self._queue[0][0] <= now_ns:
            _, _, frame = heapq.heappop(self._queue)
            out.append(self._damage(frame))
        self.stats.delivered += len(out)
        return out

    @property
    def in_flight(self) -> int:
        """Frames sent but not yet delivered."""
        return len(self._queue) + len(self._held)
