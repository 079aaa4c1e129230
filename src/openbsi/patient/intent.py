"""What the patient intends to do, second by second: a script of cued blocks.

The script is the ground truth of the session (the cue-locked label). The cortex follows it
after a reaction time; the body never sees it except through the residual voluntary drive
that an incomplete lesion spares.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from openbsi.states import REST, STATES

MOVEMENTS: tuple[str, ...] = tuple(s for s in STATES if s != REST)
_TIME_TOL_S = 1e-9


@dataclass(frozen=True)
class IntentBlock:
    """One cued block: `state` intended over [start_s, stop_s) with effort `amplitude` (0..1)."""

    start_s: float
    stop_s: float
    state: str
    amplitude: float

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {self.state!r}")
        if not (np.isfinite(self.start_s) and np.isfinite(self.stop_s)):
            raise ValueError(
                f"start_s and stop_s must be finite, got {self.start_s}, {self.stop_s}"
            )
        if self.stop_s <= self.start_s:
            raise ValueError(f"stop_s must be > start_s ({self.start_s}), got {self.stop_s}")
        if not 0.0 <= self.amplitude <= 1.0:
            raise ValueError(f"amplitude must be in [0, 1], got {self.amplitude}")
        if self.state == REST and self.amplitude != 0.0:
            raise ValueError(f"amplitude must be 0 for rest, got {self.amplitude}")


@dataclass(frozen=True)
class IntentScript:
    """Contiguous, sorted blocks covering [0, duration_s). Outside that range: rest, effort 0."""

    blocks: tuple[IntentBlock, ...]

    def __post_init__(self) -> None:
        if len(self.blocks) == 0:
            raise ValueError("blocks must hold at least one IntentBlock, got none")
        if abs(self.blocks[0].start_s) > _TIME_TOL_S:
            raise ValueError(f"the first block must start at 0 s, got {self.blocks[0].start_s}")
        for previous, block in zip(self.blocks[:-1], self.blocks[1:], strict=True):
            if abs(block.start_s - previous.stop_s) > 1e-6:
                raise ValueError(
                    "blocks must be contiguous: a block starting at "
                    f"{block.start_s} s follows one stopping at {previous.stop_s} s"
                )

    @cached_property
    def _starts(self) -> list[float]:
        return [b.start_s for b in self.blocks]

    @property
    def duration_s(self) -> float:
        return float(self.blocks[-1].stop_s)

    def block_at(self, t_s: float) -> IntentBlock | None:
        """The block holding t_s, or None outside [0, duration_s)."""
        if t_s < 0.0 or t_s >= self.duration_s:
            return None
        i = bisect.bisect_right(self._starts, t_s) - 1
        return self.blocks[max(i, 0)]

    def state_at(self, t_s: float) -> str:
        block = self.block_at(t_s)
        return REST if block is None else block.state

    def amplitude_at(self, t_s: float) -> float:
        block = self.block_at(t_s)
        return 0.0 if block is None else block.amplitude

    def states_at(self, t_s: np.ndarray) -> np.ndarray:
        """Vectorized state_at: an array of state names for an array of times."""
        t = np.asarray(t_s, dtype=float)
        idx = np.searchsorted(np.asarray(self._starts), t, side="right") - 1
        names = np.array([b.state for b in self.blocks] + [REST], dtype=object)
        inside = (t >= 0.0) & (t < self.duration_s)
        return names[np.where(inside, np.clip(idx, 0, len(self.blocks) - 1), len(self.blocks))]

    def amplitudes_at(self, t_s: np.ndarray) -> np.ndarray:
        """Vectorized amplitude_at (0 outside the script)."""
        t = np.asarray(t_s, dtype=float)
        idx = np.searchsorted(np.asarray(self._starts), t, side="right") - 1
        values = np.array([b.amplitude for b in self.blocks] + [0.0])
        inside = (t >= 0.0) & (t < self.duration_s)
        return values[np.where(inside, np.clip(idx, 0, len(self.blocks) - 1), len(self.blocks))]

    def shifted(self, offset_s: float) -> IntentScript:
        """The same blocks offset_s later; a positive offset prepends rest from 0 s."""
        blocks = [
            IntentBlock(b.start_s + offset_s, b.stop_s + offset_s, b.state, b.amplitude)
            for b in self.blocks
        ]
        if offset_s > _TIME_TOL_S:
            blocks.insert(0, IntentBlock(0.0, offset_s, REST, 0.0))
        elif offset_s < -_TIME_TOL_S:
            raise ValueError(f"offset_s must be >= 0 (a script starts at 0 s), got {offset_s}")
        return IntentScript(tuple(blocks))

    def concatenated(self, other: IntentScript) -> IntentScript:
        """This script followed by `other`, shifted to start at self.duration_s."""
        offset = self.duration_s
        moved = tuple(
            IntentBlock(b.start_s + offset, b.stop_s + offset, b.state, b.amplitude)
            for b in other.blocks
        )
        return IntentScript(self.blocks + moved)

    def table(self) -> dict[str, np.ndarray]:
        """Columns start_s, stop_s, state, amplitude (for an NWB intervals table)."""
        return {
            "start_s": np.array([b.start_s for b in self.blocks]),
            "stop_s": np.array([b.stop_s for b in self.blocks]),
            "state": np.array([b.state for b in self.blocks], dtype=object),
            "amplitude": np.array([b.amplitude for b in self.blocks]),
        }


def _check_seconds(n_seconds: float) -> None:
    if not np.isfinite(n_seconds) or n_seconds <= 0:
        raise ValueError(f"n_seconds must be a positive finite number, got {n_seconds}")


def _effort(rng: np.random.Generator) -> float:
    # Intended effort varies block to block (trial-to-trial variability).
    return float(rng.uniform(0.6, 1.0))


def _script_from_states(
    states: list[str],
    n_seconds: float,
    rng: np.random.Generator,
    min_block_s: float,
    max_block_s: float,
) -> IntentScript:
    """Lay states end to end with random durations, cut at n_seconds."""
    blocks: list[IntentBlock] = []
    t = 0.0
    for state in states:
        if t >= n_seconds - _TIME_TOL_S:
            break
        stop = min(t + float(rng.uniform(min_block_s, max_block_s)), n_seconds)
        if n_seconds - stop < 0.5 * min_block_s:
            stop = n_seconds  # no stub block at the end: the last one absorbs the remainder
        amplitude = 0.0 if state == REST else _effort(rng)
        blocks.append(IntentBlock(t, stop, state, amplitude))
        t = stop
    return IntentScript(tuple(blocks))


def cued_calibration_script(
    n_seconds: float,
    rng: np.random.Generator,
    *,
    min_block_s: float = 4.0,
    max_block_s: float = 7.0,
) -> IntentScript:
    """Rest alternating with each of the 6 movements, in balanced random order (shuffled rounds)."""
    _check_seconds(n_seconds)
    n_blocks = int(np.ceil(n_seconds / min_block_s)) + 1
    states: list[str] = []
    while len(states) < n_blocks:
        for movement in rng.permutation(len(MOVEMENTS)):
            states += [REST, MOVEMENTS[int(movement)]]
    return _script_from_states(states, n_seconds, rng, min_block_s, max_block_s)


def walking_script(
    n_seconds: float,
    rng: np.random.Generator,
    *,
    min_block_s: float = 4.0,
    max_block_s: float = 7.0,
) -> IntentScript:
    """Closed-loop walking: mostly alternating left/right hip (stepping), rest pauses, and
    knee/ankle attempts, so that all 7 states appear within about 80 s."""
    _check_seconds(n_seconds)
    others = [s for s in MOVEMENTS if not s.endswith("_hip")]
    n_blocks = int(np.ceil(n_seconds / min_block_s)) + 1
    states: list[str] = [REST]
    while len(states) < n_blocks:
        order = [others[int(i)] for i in rng.permutation(len(others))]
        first_hip = "left_hip" if rng.random() < 0.5 else "right_hip"
        second_hip = "right_hip" if first_hip == "left_hip" else "left_hip"
        for pair in (order[:2], order[2:]):
            states += [first_hip, second_hip, pair[0], first_hip, second_hip, REST, pair[1]]
    return _script_from_states(states, n_seconds, rng, min_block_s, max_block_s)
