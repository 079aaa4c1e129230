"""Gait events and summary metrics."""

from __future__ import annotations

from dataclasses import dataclass

FAILED_CLEARANCE_M = 0.10  # Lorach 2023: failed step = foot clearance < 10 cm


@dataclass(frozen=True)
class StepEvent:
    t_s: float
    side: str
    length_m: float
    clearance_m: float
    failed: bool  # clearance_m < 0.10 m


@dataclass(frozen=True)
class GaitSummary:
    steps: int
    step_length_m: float  # mean over steps (0 if none)
    speed_m_s: float  # distance covered by steps / simulated time
    failed_steps: int


def summarize(events: list[StepEvent], duration_s: float) -> GaitSummary:
    if not events:
        return GaitSummary(0, 0.0, 0.0, 0)
    lengths = [max(e.length_m, 0.0) for e in events]
    return GaitSummary(
        steps=len(events),
        step_length_m=float(sum(lengths) / len(lengths)),
        speed_m_s=float(sum(lengths) / duration_s) if duration_s > 0 else 0.0,
        failed_steps=sum(e.failed for e in events),
    )
