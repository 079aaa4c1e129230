"""`openbsi bench safety`: random, adversarial command sequences through supervisor + backends.

Each case is a fresh supervisor + backend driven by a short random command sequence: NaN,
inf, negative and huge values, unknown electrodes / nodes, unknown states, replayed or skipped
sequence numbers, stale and future timestamps, rapid changes, long silences (watchdog) and
emergency stops. Every emitted pulse is then judged by the independent audit
(openbsi.safety.audit), not by the supervisor that let it through.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from openbsi.safety.audit import out_of_limit_mask_arrays
from openbsi.safety.limits import SafetyLimits
from openbsi.safety.supervisor import SafetySupervisor
from openbsi.states import STATES
from openbsi.stimulation.backends import create_stimulator
from openbsi.stimulation.layouts import default_layout, node_placements
from openbsi.stimulation.profiles import get_profile
from openbsi.stimulation.types import ChannelCommand, Electrode, Pulse, StimCommand

BACKENDS: tuple[str, ...] = ("paddle", "nodes", "transcutaneous", "virtual", "lsl")
_KIND = {
    "paddle": "paddle",
    "nodes": "nodes",
    "transcutaneous": "transcutaneous",
    "virtual": "paddle",
    "lsl": "paddle",
}
_MS = 1_000_000
_CASE_SPAN_NS = 10_000 * _MS  # cases are laid end to end 10 s apart for the batched audit
_SPECIALS = np.array([math.nan, math.inf, -math.inf, -1.0, 0.0, 1e-300, 1e9, 1e300])
_DT_MS = np.array([1, 2, 3, 5, 10, 20, 50, 100])
_LAG_MS = np.array([0, 0, 0, 0, 0, 0, 0, 0, 10, -10, 60, -60, 300, -300])
_SEQ_JUMP = np.array([1, 1, 1, 1, 1, 1, 1, 1, 2, 0, -1])
_STATE_CHOICES = (*STATES, "bogus")


def _values(rng: np.random.Generator, n: int, scales: np.ndarray) -> np.ndarray:
    """n x 4 field values: mostly plausible-to-excessive (0–2.5 x limit), 3 % pathological."""
    u = rng.random((n, 4))
    values = rng.random((n, 4)) * np.where(u < 0.55, 1.0, 2.5) * scales
    special = u < 0.03
    values[special] = _SPECIALS[rng.integers(len(_SPECIALS), size=int(special.sum()))]
    return values


def _command(
    rng: np.random.Generator, t_ns: int, seq: int, limits: SafetyLimits, n_electrodes: int
) -> StimCommand:
    n = int(rng.integers(0, 7))
    scales = np.array(
        [
            limits.max_amplitude_ma,
            limits.max_pulse_width_us,
            limits.max_frequency_hz,
            max(limits.max_interphase_gap_us, 20.0),
        ]
    )
    values = _values(rng, n, scales).tolist()
    electrodes = rng.integers(0, n_electrodes, size=n)
    wild = rng.random(n) < 0.1
    electrodes[wild] = rng.integers(-2, n_electrodes + 2, size=int(wild.sum()))
    channels = [ChannelCommand(int(e), *row) for e, row in zip(electrodes, values, strict=True)]
    state = (
        _STATE_CHOICES[int(rng.integers(len(_STATE_CHOICES)))]
        if rng.random() < 0.1
        else STATES[int(rng.integers(len(STATES)))]
    )
    return StimCommand(t_ns=t_ns, seq=seq, state=state, channels=tuple(channels))


def _run_case(
    backend: str,
    rng: np.random.Generator,
    limits: SafetyLimits,
    electrodes: tuple[Electrode, ...],
    shared: dict[str, Any],
) -> tuple[list[Pulse], Any]:
    supervisor = SafetySupervisor(limits, electrodes)
    kwargs: dict[str, Any] = {"supervisor": supervisor, "electrodes": electrodes}
    if backend == "lsl":
        kwargs["outlet"] = shared["outlet"]
        kwargs["clock_offset_s"] = 0.0
    if backend == "nodes":  # deep or tilted nodes too, so that energy runs short
        kwargs["placements"] = node_placements(electrodes, rng, depth_range_mm=(20.0, 65.0))
    if backend in ("paddle", "nodes", "transcutaneous"):
        kwargs["history"] = 0
    if backend == "transcutaneous":
        kwargs["session_ramp_s"] = float(rng.choice([0.0, 0.05]))
    stim = create_stimulator(backend, **kwargs)
    now, seq = 0, 0
    pulses: list[Pulse] = []
    for _ in range(int(rng.integers(1, 7))):
        seq += int(_SEQ_JUMP[rng.integers(len(_SEQ_JUMP))])
        lag = int(_LAG_MS[rng.integers(len(_LAG_MS))]) * _MS
        if rng.random() < 0.9:
            stim.deliver(_command(rng, now + lag, seq, limits, len(electrodes)), now)
        if rng.random() < 0.01:
            stim.emergency_stop(now)
        gap_ms = (
            int(rng.integers(260, 520))
            if rng.random() < 0.04
            else int(_DT_MS[rng.integers(len(_DT_MS))])
        )
        now += gap_ms * _MS * (5 if backend == "transcutaneous" else 1)  # 30 Hz: longer cases
        pulses += stim.run_until(now)
    return pulses, stim


_CHUNK = 500  # cases per work unit; each unit has its own seed, so results do not depend
# on how many workers ran them


def _run_chunk(backend: str, b_index: int, seed: int, chunk: int, n_cases: int) -> dict[str, int]:
    """n_cases on one backend, audited together (cases laid 10 s apart on one time axis)."""
    kind = _KIND[backend]
    limits = SafetyLimits.from_profile(get_profile(kind))
    electrodes = default_layout(kind)
    rng = np.random.default_rng([seed, b_index, chunk])
    shared: dict[str, Any] = {}
    if backend == "lsl":
        from openbsi.stimulation.backends.lsl import make_outlet

        shared["outlet"] = _OUTLETS.get("lsl") or _OUTLETS.setdefault(
            "lsl", make_outlet("OpenBSI-Stim-bench", "openbsi-bench")
        )
    tally: dict[str, int] = {
        "cases": 0,
        "pulses_checked": 0,
        "out_of_limit_pulses": 0,
        "pulses_blocked": 0,
        "commands_accepted": 0,
        "commands_vetoed": 0,
    }
    columns: list[list[float]] = [[], [], [], [], []]
    for case in range(n_cases):
        pulses, stim = _run_case(backend, rng, limits, electrodes, shared)
        offset = case * _CASE_SPAN_NS
        for p in pulses:
            columns[0].append(p.t_ns + offset)
            columns[1].append(p.electrode)
            columns[2].append(p.amplitude_ma)
            columns[3].append(p.pulse_width_us)
            columns[4].append(p.interphase_gap_us)
        tally["cases"] += 1
        tally["pulses_checked"] += len(pulses)
        tally["pulses_blocked"] += stim.pulses_blocked
        tally["commands_accepted"] += stim.commands_accepted
        tally["commands_vetoed"] += stim.commands_vetoed
        if backend == "nodes":
            for reason, count in stim.scheduler.rejected_by_reason.items():
                key = f"unscheduled_{reason}"
                tally[key] = tally.get(key, 0) + count
    if columns[0]:
        mask = out_of_limit_mask_arrays(
            np.array(columns[0]),
            np.array(columns[1], dtype=np.int64),
            np.array(columns[2]),
            np.array(columns[3]),
            np.array(columns[4]),
            limits,
            electrodes,
        )
        tally["out_of_limit_pulses"] = int(mask.sum())
    return tally


_OUTLETS: dict[str, Any] = {}


def _run_chunk_args(args: tuple[str, int, int, int, int]) -> tuple[str, dict[str, int]]:
    return args[0], _run_chunk(*args)


def run_safety_bench(
    cases: int, seed: int = 0, backends: tuple[str, ...] = BACKENDS, workers: int = 1
) -> dict[str, Any]:
    """Run `cases` random sequences through supervisor + each backend; audit every pulse."""
    if cases < 1:
        raise ValueError(f"cases must be >= 1, got {cases}")
    if not 1 <= workers <= 64:
        raise ValueError(f"workers must be in [1, 64], got {workers}")
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise ValueError(f"backends must be among {BACKENDS}, got {unknown}")
    jobs = [
        (backend, BACKENDS.index(backend), seed, chunk, min(_CHUNK, cases - chunk * _CHUNK))
        for backend in backends
        for chunk in range((cases + _CHUNK - 1) // _CHUNK)
    ]
    started = time.perf_counter()
    if workers == 1:
        results = [_run_chunk_args(job) for job in jobs]
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_run_chunk_args, jobs, chunksize=1))
    elapsed = time.perf_counter() - started
    by_backend: dict[str, dict[str, int]] = {backend: {} for backend in backends}
    for backend, tally in results:
        row = by_backend[backend]
        for key, value in tally.items():
            row[key] = row.get(key, 0) + value
    return {
        "cases": cases,
        "pulses_checked": sum(row["pulses_checked"] for row in by_backend.values()),
        "out_of_limit_pulses": sum(row["out_of_limit_pulses"] for row in by_backend.values()),
        "by_backend": by_backend,
        "seed": seed,
        "workers": workers,
        "elapsed_s": round(elapsed, 3),
    }
