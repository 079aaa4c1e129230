"""From state probabilities to the decoded state: switch only on enough evidence.

The decoded state changes to the most probable state only when that state's probability
reaches `switch_threshold`; otherwise the previous decision holds. On the virtual patient a
threshold of 0.6 removed about 40 % of the error blocks, mostly single-window detours at a
probability of ~0.5, for ~20 ms of extra switch time (benchmarks/decode/README.md).
"""

from __future__ import annotations

import numpy as np


def check_threshold(switch_threshold: float) -> None:
    if not 0.0 <= switch_threshold < 1.0:
        raise ValueError(f"switch_threshold must be in [0, 1), got {switch_threshold}")


def next_decision(probs: np.ndarray, previous: int | None, switch_threshold: float) -> int:
    """The decision after one window, given the previous one (None: take the most probable)."""
    best = int(np.argmax(probs))
    if previous is None or (best != previous and probs[best] >= switch_threshold):
        return best
    return previous


def decisions(probs: np.ndarray, switch_threshold: float) -> np.ndarray:
    """Decisions for a time-ordered (n, n_states) sequence, starting from no decision."""
    check_threshold(switch_threshold)
    out = np.empty(len(probs), dtype=int)
    previous = None
    for i, row in enumerate(np.asarray(probs)):
        previous = next_decision(row, previous, switch_threshold)
        out[i] = previous
    return out
