"""What every benchmark shares: percentiles, repeated timing, the machine's load, peer ratios.

A speed goal is judged as a ratio against a peer measured in the same run (the same load for
both), and every figure travels with the load it was measured under. A figure that cannot be
computed (no samples, a zero denominator) is None, never 0.
"""

from __future__ import annotations

import math
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from openbsi.runtime.latency import summarize_ms

OPENBSI = (sys.executable, "-m", "openbsi")  # the `openbsi` command of this interpreter


def _finite(value: float, digits: int | None) -> float | None:
    if not math.isfinite(value):
        return None
    return round(value, digits) if digits is not None else value


def summary(
    values: Sequence[float] | np.ndarray,
    *,
    unit: str = "",
    scale: float = 1.0,
    digits: int | None = None,
) -> dict[str, float | None]:
    """p50 / p99 / max of `values` x `scale` (None when there are none); keys end in `unit`,
    e.g. summary(times_s, unit="_ms", scale=1e3) -> {"p50_ms", "p99_ms", "max_ms"}."""
    stats = summarize_ms(np.asarray(values, dtype=float) * scale)
    return {f"{key}{unit}": _finite(value, digits) for key, value in stats.items()}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator of two figures of one run; None when either is missing or the
    denominator is 0 (the peer ratio cannot be computed)."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    value = numerator / denominator
    return value if math.isfinite(value) else None


def repeat_timed(fn: Callable[[], object], repeats: int, *, warm: bool = True) -> dict:
    """Call fn `repeats` times (after one untimed warm-up call unless warm=False);
    {"wall_s": [...], "cpu_s": [...]} per call (perf_counter, process_time)."""
    if not 1 <= repeats <= 1_000_000:
        raise ValueError(f"repeats must be in [1, 1000000], got {repeats}")
    if warm:
        fn()  # imports, caches
    wall_s, cpu_s = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall_s.append(time.perf_counter() - t0)
        cpu_s.append(time.process_time() - c0)
    return {"wall_s": wall_s, "cpu_s": cpu_s}


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages of the machine, to 2 decimals."""
    return [round(value, 2) for value in os.getloadavg()]


def rss_mb() -> float | None:
    """This process's resident set size now (VmRSS), in MiB; None where /proc is absent."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (ru_maxrss, KiB on Linux), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_env(**extra: str) -> dict[str, str]:
    """The environment for an `openbsi` child process: this very openbsi (the source tree this
    module was imported from) first on PYTHONPATH, whatever the child's working folder."""
    import openbsi

    source = str(Path(openbsi.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=os.pathsep.join([source, path]), **extra)
