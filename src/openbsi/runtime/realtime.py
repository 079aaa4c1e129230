"""Real-time settings for the decode loop (issue #10.9), applied where the OS permits.

- SCHED_FIFO priority: the loop's thread preempts ordinary (SCHED_OTHER) work the moment it
  wakes; Linux's RT throttling (sched_rt_runtime_us, 95 % by default) still leaves the rest
  of the machine a share, so a runaway loop cannot lock it up.
- CPU affinity: the loop is pinned to one core (the last allowed one), so it keeps its caches
  and never migrates mid-tick.
- Locked memory (mlockall MCL_CURRENT | MCL_FUTURE): no page fault reaches the disk mid-tick.
- Garbage collector: everything allocated during set-up is frozen out of the collector
  (gc.freeze) and automatic collection is off during ticks; the young generation is collected
  between ticks, in the idle time before the next deadline (`between_ticks`).

Each setting is tried on its own; what could not be set is reported (with the OS's reason),
never raised: a session without privileges still runs, and says so.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from dataclasses import dataclass, field

FIFO_PRIORITY = 50  # assumption: mid-range, below the kernel's own threaded IRQs (50 too)
MCL_CURRENT, MCL_FUTURE = 1, 2  # <sys/mman.h> on Linux
GC_YOUNG_THRESHOLD = 700  # CPython's default gen-0 threshold: collect between ticks past it


def collect_ahead() -> None:
    """With the collector enabled: run the collection the next allocations would trigger
    now, at half its threshold, so that it falls in the idle time after a tick instead of
    inside the next one (64 channels here: ~10 young collections of ~0.1 ms in 600 ticks,
    each landing on the compute path). The same generations are collected as CPython
    would; only the moment moves."""
    if not gc.isenabled():
        return
    counts, thresholds = gc.get_count(), gc.get_threshold()
    if thresholds[0] == 0 or counts[0] < thresholds[0] // 2:
        return
    generation = 0
    if counts[1] + 1 >= thresholds[1]:  # this collection would tip the middle generation
        generation = 2 if counts[2] + 1 >= thresholds[2] else 1
    gc.collect(generation)


@dataclass
class RealtimeReport:
    """What was set and what was not (setting -> the OS's reason)."""

    applied: list[str] = field(default_factory=list)
    not_applied: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"applied": list(self.applied), "not_applied": dict(self.not_applied)}

    def lines(self) -> list[str]:
        out = [f"realtime: set {', '.join(self.applied) or 'nothing'}"]
        out += [f"realtime: could not set {k} ({v})" for k, v in self.not_applied.items()]
        return out


class RealtimeSettings:
    """Apply with `enter()`, undo with `exit()` (or as a context manager)."""

    def __init__(
        self,
        *,
        priority: int = FIFO_PRIORITY,
        cpu: int | None = None,
        lock_memory: bool = True,
        gc_control: bool = True,
    ) -> None:
        if not 1 <= priority <= 99:
            raise ValueError(f"priority must be in [1, 99] (SCHED_FIFO), got {priority}")
        self.priority = priority
        self.cpu = cpu
        self.lock_memory = lock_memory
        self.gc_control = gc_control
        self.report = RealtimeReport()
        self._saved_policy: tuple[int, int] | None = None
        self._saved_affinity: set[int] | None = None
        self._locked = False
        self._gc_was_enabled = gc.isenabled()

    def enter(self) -> RealtimeReport:
        self.report = RealtimeReport()
        self._set_fifo()
        self._set_affinity()
        if self.lock_memory:
            self._mlockall()
        if self.gc_control:
            self._gc_was_enabled = gc.isenabled()
            gc.collect()
            gc.freeze()  # set-up's objects are never scanned again
            gc.disable()
            self.report.applied.append("gc (frozen, collected between ticks)")
        return self.report

    def _set_fifo(self) -> None:
        if not hasattr(os, "sched_setscheduler"):
            self.report.not_applied["SCHED_FIFO"] = "not available on this OS"
            return
        try:
            self._saved_policy = (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority)
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(self.priority))
            self.report.applied.append(f"SCHED_FIFO {self.priority}")
        except OSError as error:
            self._saved_policy = None
            self.report.not_applied["SCHED_FIFO"] = error.strerror or str(error)

    def _set_affinity(self) -> None:
        if not hasattr(os, "sched_setaffinity"):
            self.report.not_applied["CPU affinity"] = "not available on this OS"
            return
        try:
            allowed = os.sched_getaffinity(0)
            cpu = max(allowed) if self.cpu is None else self.cpu
            if cpu not in allowed:
                self.report.not_applied["CPU affinity"] = (
                    f"cpu {cpu} is not among the allowed {sorted(allowed)}"
                )
                return
            self._saved_affinity = set(allowed)
            os.sched_setaffinity(0, {cpu})
            self.report.applied.append(f"CPU affinity {{{cpu}}}")
        except OSError as error:
            self.report.not_applied["CPU affinity"] = error.strerror or str(error)

    def _mlockall(self) -> None:
        name = ctypes.util.find_library("c")
        if name is None:
            self.report.not_applied["locked memory"] = "no C library found"
            return
        libc = ctypes.CDLL(name, use_errno=True)
        if not hasattr(libc, "mlockall"):
            self.report.not_applied["locked memory"] = "mlockall not available"
            return
        if libc.mlockall(MCL_CURRENT | MCL_FUTURE) != 0:
            self.report.not_applied["locked memory"] = os.strerror(ctypes.get_errno())
            return
        self._locked = True
        self.report.applied.append("locked memory (mlockall)")

    @staticmethod
    def between_ticks() -> None:
        """Collect the young generation in the idle time between ticks (when it has grown)."""
        if not gc.isenabled() and gc.get_count()[0] >= GC_YOUNG_THRESHOLD:
            gc.collect(0)

    def exit(self) -> None:
        if self.gc_control:
            gc.unfreeze()
            if self._gc_was_enabled:
                gc.enable()
        if self._locked:
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            libc.munlockall()
            self._locked = False
        if self._saved_affinity is not None:
            os.sched_setaffinity(0, self._saved_affinity)
            self._saved_affinity = None
        if self._saved_policy is not None:
            policy, priority = self._saved_policy
            os.sched_setscheduler(0, policy, os.sched_param(priority))
            self._saved_policy = None

    def __enter__(self) -> RealtimeReport:
        return self.enter()

    def __exit__(self, *exc: object) -> None:
        self.exit()
