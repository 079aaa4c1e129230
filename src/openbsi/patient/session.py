"""Run a virtual patient tick by tick, with pulses from any source (a program, a test, none).

The driver only moves time: every tick it reads the ECoG due, asks `pulse_source` for the
pulses of the next tick (as a stimulator emits them), hands them to the patient and lets the
body respond. It also times each part, for `openbsi bench patient`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from openbsi.patient.virtual import VirtualPatient
from openbsi.stimulation.types import Pulse

# (t0_s, t1_s) -> the pulses emitted in [t0_s, t1_s), on the session clock.
PulseSource = Callable[[float, float], Sequence[Pulse]]


@dataclass
class SimulationResult:
    duration_s: float
    ecog_uv: np.ndarray | None  # channels x samples (None when not kept)
    pulses: list[Pulse] = field(default_factory=list)
    wall_s: dict[str, float] = field(default_factory=dict)  # per part
    cpu_s: float = 0.0  # CPU time of this process (what one core spent, whatever the load)

    @property
    def total_wall_s(self) -> float:
        return float(sum(self.wall_s.values()))


def run_patient(
    patient: VirtualPatient,
    duration_s: float,
    *,
    pulse_source: PulseSource | None = None,
    tick_s: float = 0.1,
    keep_ecog: bool = True,
) -> SimulationResult:
    """Simulate `duration_s` seconds from where the patient is (its clocks start at 0)."""
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise ValueError(f"duration_s must be a positive finite number, got {duration_s}")
    if not 0.001 <= tick_s <= 1.0:
        raise ValueError(f"tick_s must be in [0.001, 1] s, got {tick_s}")
    fs = patient.info.sfreq_hz
    wall = {"cortex": 0.0, "stimulation": 0.0, "spinal_body": 0.0}
    chunks: list[np.ndarray] = []
    pulses: list[Pulse] = []
    n_read = 0
    n_ticks = round(duration_s / tick_s)
    cpu_start = time.process_time()
    for tick in range(n_ticks + 1):
        # As in the closed loop: at time t0 the ECoG up to t0 is read (and decoded), then the
        # stimulator emits the pulses of [t0, t1) and the body integrates to t1.
        t0, t1 = tick * tick_s, (tick + 1) * tick_s
        start = time.perf_counter()
        n_due = round(t0 * fs) - n_read
        if n_due > 0:
            chunk = patient.read_ecog(n_due)
            n_read += n_due
            if keep_ecog:
                chunks.append(chunk)
        mid = time.perf_counter()
        wall["cortex"] += mid - start
        if tick == n_ticks:
            break
        emitted = list(pulse_source(t0, t1)) if pulse_source is not None else []
        if emitted:
            patient.receive_pulses(emitted)
            pulses.extend(emitted)
        stim_done = time.perf_counter()
        patient.advance(t1)
        end = time.perf_counter()
        wall["stimulation"] += stim_done - mid
        wall["spinal_body"] += end - stim_done
    cpu = time.process_time() - cpu_start
    ecog = np.concatenate(chunks, axis=1) if keep_ecog and chunks else None
    return SimulationResult(n_ticks * tick_s, ecog, pulses, wall, cpu)


def train_source(
    schedule: Sequence[tuple[float, float, int, float]],
    *,
    frequency_hz: float = 40.0,
    pulse_width_us: float = 300.0,
) -> PulseSource:
    """Pulse trains from a fixed schedule of (start_s, stop_s, electrode, amplitude_ma):
    a simple stimulator for tests and benchmarks (no safety checks: use the stimulation
    backends for anything that reaches a person)."""
    period = 1.0 / frequency_hz

    def source(t0: float, t1: float) -> list[Pulse]:
        out: list[Pulse] = []
        for start, stop, electrode, amplitude in schedule:
            first = max(start, t0)
            k0 = int(np.ceil((first - start) / period - 1e-9))
            t = start + k0 * period
            while t < min(stop, t1) - 1e-12:
                out.append(Pulse(round(t * 1e9), electrode, amplitude, pulse_width_us))
                t += period
        return sorted(out, key=lambda p: p.t_ns)

    return source


def alternating_hip_schedule(
    duration_s: float,
    left_electrode: int,
    right_electrode: int,
    *,
    amplitude_ma: float = 5.0,
    train_s: float = 0.5,
    cycle_s: float = 2.0,
) -> list[tuple[float, float, int, float]]:
    """Left then right hip-flexion trains, one per half cycle (a stepping rhythm)."""
    out = []
    t = 0.0
    while t < duration_s:
        out.append((t, t + train_s, left_electrode, amplitude_ma))
        out.append((t + cycle_s / 2, t + cycle_s / 2 + train_s, right_electrode, amplitude_ma))
        t += cycle_s
    return out


def stepping_schedule(
    duration_s: float,
    hip_electrodes: tuple[int, int],
    push_off_electrodes: tuple[int, int],
    *,
    stance_electrodes: tuple[int, int] | None = None,
    hip_ma: float = 5.0,
    push_off_ma: float = 3.5,
    stance_ma: float = 2.5,
    train_s: float = 0.5,
    push_off_s: float = 0.3,
    stance_s: float = 0.4,
    cycle_s: float = 2.0,
) -> list[tuple[float, float, int, float]]:
    """Alternating steps (left, right): each swing gets an S1 push-off train on its own side
    (propulsion at the end of stance), then a hip-flexion train (L1); optionally an L3 train on
    the other, stance side while the swing leg flexes (weight acceptance / knee extension).
    Wagner 2018 hotspots (facts.md); amplitudes and timing are modelling defaults."""
    if not 0 < push_off_s < cycle_s / 2:
        raise ValueError(f"push_off_s must be in (0, {cycle_s / 2}) s, got {push_off_s}")
    out = []
    t = 0.0
    while t < duration_s:
        for k in range(2):
            onset = t + k * cycle_s / 2 + push_off_s
            out.append((onset - push_off_s, onset, push_off_electrodes[k], push_off_ma))
            out.append((onset, onset + train_s, hip_electrodes[k], hip_ma))
            if stance_electrodes is not None:
                out.append((onset, onset + stance_s, stance_electrodes[1 - k], stance_ma))
        t += cycle_s
    return out
