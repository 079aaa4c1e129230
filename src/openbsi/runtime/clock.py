"""Session clocks: the real monotonic clock, or a simulated one that moves only when slept on.

A live session runs on MonotonicClock. Tests and faster-than-real-time runs use SimulatedClock:
the loop computes exactly as it would live (and its compute latency is still measured with
time.monotonic_ns()), but waiting costs nothing.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int: ...

    def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    def now_ns(self) -> int:
        return time.monotonic_ns()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class SimulatedClock:
    def __init__(self, start_ns: int = 0) -> None:
        self.t_ns = int(start_ns)

    def now_ns(self) -> int:
        return self.t_ns

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.t_ns += round(seconds * 1e9)

    def jump(self, seconds: float) -> None:
        """Move the clock by `seconds` (negative allowed: a clock fault for tests)."""
        self.t_ns += round(seconds * 1e9)
