"""Latency probes: each hop of a decode tick stamps time.monotonic_ns(); latency is differences."""

from __future__ import annotations

import time
from typing import Final

import numpy as np

from openbsi.store.session_log import LATENCY_HOPS, LATENCY_KEYS

# Stamps taken during one tick, and hop name -> (from stamp, to stamp): the recording's own.
STAMPS: Final[tuple[str, ...]] = LATENCY_KEYS
HOPS: Final[dict[str, tuple[str, str]]] = LATENCY_HOPS


class TickStamps:
    """The monotonic stamps of one decode tick."""

    __slots__ = ("stamps_ns",)

    def __init__(self) -> None:
        self.stamps_ns: dict[str, int] = {}

    def stamp(self, name: str) -> int:
        if name not in STAMPS:
            raise ValueError(f"stamp name must be one of {STAMPS}, got {name!r}")
        t_ns = time.monotonic_ns()
        self.stamps_ns[name] = t_ns
        return t_ns

    def hop_ms(self, hop: str) -> float:
        start, stop = HOPS[hop]
        return (self.stamps_ns[stop] - self.stamps_ns[start]) / 1e6


def summarize_ms(values_ms: np.ndarray) -> dict[str, float]:
    """p50 / p99 / max of a set of latencies in ms (NaN when there are none)."""
    values_ms = np.asarray(values_ms, dtype=float)
    if values_ms.size == 0:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    return {
        "p50": float(np.percentile(values_ms, 50)),
        "p99": float(np.percentile(values_ms, 99)),
        "max": float(values_ms.max()),
    }
