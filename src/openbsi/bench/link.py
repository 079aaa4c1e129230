"""What the link costs a command in compute: seal + open of one frame, p50/p99/max in ms
(the "link" hop of `openbsi bench latency`; the radio's own delay is FaultConfig's)."""

from __future__ import annotations

import os
import time

import numpy as np

from openbsi.bench.common import summary
from openbsi.link.endpoint import pair

# A 16-channel stimulation command is 290 bytes (runtime.command_codec: 18 + 17 per channel).
DEFAULT_PAYLOAD_BYTES = 290


def seal_open_latency(
    n_frames: int = 2000, payload_bytes: int = DEFAULT_PAYLOAD_BYTES
) -> dict[str, float]:
    """Time seal() then open() of `n_frames` frames, one at a time (ms per frame)."""
    if not 10 <= n_frames <= 1_000_000:
        raise ValueError(f"n_frames must be in [10, 1000000], got {n_frames}")
    if not 0 <= payload_bytes <= 65_536:
        raise ValueError(f"payload_bytes must be in [0, 65536], got {payload_bytes}")
    base, implant = pair()
    payload = os.urandom(payload_bytes)
    values = np.empty(n_frames)
    for k in range(n_frames):
        start = time.perf_counter_ns()
        now = time.monotonic_ns()
        implant.open(base.seal(payload, now), now)
        values[k] = (time.perf_counter_ns() - start) / 1e6
    return {**summary(values, unit="_ms"), "n_frames": n_frames}
