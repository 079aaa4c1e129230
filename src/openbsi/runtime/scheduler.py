"""Drift-free periodic ticks on the monotonic clock, with overruns counted.

Tick k is due at start + k * period (never at "last wake-up + period", which drifts). When a
tick's work runs past the next deadline, that is an overrun: it is counted, and the ticks whose
deadlines already passed are skipped rather than run in a burst, so the loop always works on
the freshest data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TickStats:
    ticks: int = 0
    overruns: int = 0
    skipped: int = 0
    max_lateness_ms: float = 0.0
    overrun_ticks: list[int] = field(default_factory=list)


class TickScheduler:
    """Calls `work(tick_index, deadline_ns)` every `period_ms` until `should_stop()` is true."""

    def __init__(
        self,
        period_ms: float,
        *,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        sleep_s: Callable[[float], None] = time.sleep,
        max_logged_overruns: int = 10_000,
    ) -> None:
        if not 0.1 <= period_ms <= 10_000:
            raise ValueError(f"period_ms must be within [0.1, 10000], got {period_ms}")
        self.period_ns = round(period_ms * 1e6)
        self._clock_ns = clock_ns
        self._sleep_s = sleep_s
        self._max_logged = max_logged_overruns
        self.stats = TickStats()

    def run(self, work: Callable[[int, int], None], n_ticks: int) -> TickStats:
        """Run `n_ticks` ticks (tick k due at start + k * period)."""
        start_ns = self._clock_ns()
        k = 0
        while k < n_ticks:
            deadline_ns = start_ns + k * self.period_ns
            now_ns = self._clock_ns()
            if now_ns < deadline_ns:
                self._sleep_s((deadline_ns - now_ns) / 1e9)
            lateness_ms = max(0.0, (self._clock_ns() - deadline_ns) / 1e6)
            self.stats.max_lateness_ms = max(self.stats.max_lateness_ms, lateness_ms)
            work(k, deadline_ns)
            self.stats.ticks += 1
            finished_ns = self._clock_ns()
            next_k = k + 1
            if finished_ns > start_ns + next_k * self.period_ns:  # ran past the next deadline
                self.stats.overruns += 1
                if len(self.stats.overrun_ticks) < self._max_logged:
                    self.stats.overrun_ticks.append(k)
                # skip every tick whose deadline has already passed
                behind = (finished_ns - start_ns) // self.period_ns
                self.stats.skipped += max(0, int(behind) - next_k)
                next_k = max(next_k, int(behind))
            k = next_k
        return self.stats
