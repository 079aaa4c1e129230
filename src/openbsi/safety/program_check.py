"""Validate a stimulation program against its backend's limits before it ever runs.

Every violation names the field (e.g. "states.left_hip[0].amplitude_ma"), the value, the
limit and the rule, so `openbsi program validate` can list them all at once.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from openbsi.safety.limits import SafetyLimits
from openbsi.stimulation.profiles import get_profile
from openbsi.stimulation.program import Program, StimStep
from openbsi.stimulation.types import Electrode


@dataclass(frozen=True)
class Violation:
    """One field of a program beyond a limit."""

    field: str
    value: float
    limit: float
    rule: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form (non-finite numbers become None)."""
        data = asdict(self)
        for key in ("value", "limit"):
            if not math.isfinite(data[key]):
                data[key] = None
        return data


def limits_for_backend(backend: str) -> SafetyLimits:
    """The supervisor limits of a backend kind (its device profile's hard limits)."""
    return SafetyLimits.from_profile(get_profile(backend))


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_step(
    step: StimStep, where: str, limits: SafetyLimits, by_index: dict[int, Electrode]
) -> list[Violation]:
    out: list[Violation] = []

    def add(field: str, value: float, limit: float, rule: str, text: str) -> None:
        out.append(Violation(f"{where}.{field}", float(value), float(limit), rule, text))

    if not step.electrodes:
        add("electrodes", 0, 1, "empty", "a step must name at least one electrode")
    if len(set(step.electrodes)) != len(step.electrodes):
        add(
            "electrodes",
            len(step.electrodes),
            len(set(step.electrodes)),
            "duplicate_electrode",
            "an electrode is listed twice",
        )
    for e in step.electrodes:
        if e not in by_index:
            add(
                "electrodes",
                e,
                max(by_index),
                "unknown_electrode",
                f"electrode {e} is not in the layout (indices {sorted(by_index)})",
            )
    numbers = {
        "amplitude_ma": step.amplitude_ma,
        "pulse_width_us": step.pulse_width_us,
        "frequency_hz": step.frequency_hz,
        "interphase_gap_us": step.interphase_gap_us,
        "onset_ms": step.onset_ms,
    }
    if step.duration_ms is not None:
        numbers["duration_ms"] = step.duration_ms
    if step.period_ms is not None:
        numbers["period_ms"] = step.period_ms
    bad = {k for k, v in numbers.items() if not _finite(v) or v < 0}
    for key in sorted(bad):
        add(key, numbers[key], 0.0, "non_finite_or_negative", f"{key} must be finite and >= 0")
    if step.duration_ms is not None and "duration_ms" not in bad and step.duration_ms == 0:
        add("duration_ms", 0.0, 0.0, "empty_duration", "duration_ms must be > 0 (or null)")
    if step.period_ms is not None and "period_ms" not in bad:
        if step.duration_ms is None:
            add(
                "period_ms",
                step.period_ms,
                math.nan,
                "period_without_duration",
                "a repeating step needs a duration_ms",
            )
        elif "duration_ms" not in bad and not 0 < step.duration_ms <= step.period_ms:
            add(
                "duration_ms",
                step.duration_ms,
                step.period_ms,
                "duration_exceeds_period",
                "duration_ms must be <= period_ms (the step would never pause)",
            )

    a, pw = step.amplitude_ma, step.pulse_width_us
    f, gap = step.frequency_hz, step.interphase_gap_us
    if "amplitude_ma" not in bad:
        if a > limits.max_amplitude_ma:
            add(
                "amplitude_ma",
                a,
                limits.max_amplitude_ma,
                "max_amplitude",
                f"amplitude_ma above the device maximum {limits.max_amplitude_ma} mA",
            )
        if 0 < a < limits.min_amplitude_ma:
            add(
                "amplitude_ma",
                a,
                limits.min_amplitude_ma,
                "min_amplitude",
                f"amplitude_ma below the device minimum {limits.min_amplitude_ma} mA",
            )
    if "pulse_width_us" not in bad:
        if pw > limits.max_pulse_width_us:
            add(
                "pulse_width_us",
                pw,
                limits.max_pulse_width_us,
                "max_pulse_width",
                f"pulse_width_us above {limits.max_pulse_width_us} us",
            )
        if pw < limits.min_pulse_width_us:
            add(
                "pulse_width_us",
                pw,
                limits.min_pulse_width_us,
                "min_pulse_width",
                f"pulse_width_us below {limits.min_pulse_width_us} us",
            )
    if "interphase_gap_us" not in bad and gap > limits.max_interphase_gap_us:
        add(
            "interphase_gap_us",
            gap,
            limits.max_interphase_gap_us,
            "max_interphase_gap",
            f"interphase_gap_us above {limits.max_interphase_gap_us} us",
        )
    if "frequency_hz" not in bad:
        if f < limits.min_frequency_hz:
            add(
                "frequency_hz",
                f,
                limits.min_frequency_hz,
                "min_frequency",
                f"frequency_hz below {limits.min_frequency_hz} Hz",
            )
        if not bad & {"pulse_width_us", "interphase_gap_us"}:
            max_f = limits.max_frequency_for(pw, gap)
            if f > max_f:
                rule = "max_frequency" if max_f >= limits.max_frequency_hz else "max_duty"
                add("frequency_hz", f, max_f, rule, f"frequency_hz above {max_f:.4g} Hz ({rule})")
    if not bad & {"amplitude_ma", "pulse_width_us"}:
        for e in step.electrodes:
            if e not in by_index:
                continue
            area = by_index[e].area_mm2
            max_a = limits.max_amplitude_for(area, pw)
            if a > max_a and a <= limits.max_amplitude_ma:
                rule = limits.binding_rule(area, pw)
                add(
                    "amplitude_ma",
                    a,
                    max_a,
                    rule,
                    f"amplitude on electrode {e} exceeds the {rule} limit at {pw} us",
                )
                break
    return out


def _periods(steps: tuple[StimStep, ...]) -> set[float]:
    return {s.period_ms for s in steps if s.period_ms is not None and _finite(s.period_ms)}


def _peak_total_ma(steps: tuple[StimStep, ...]) -> float:
    """Largest total amplitude of the steps active at once (per electrode the strongest).

    The total only rises when a step switches on, so only those moments are candidates. The
    onsets and the ends of the non-repeating steps cut time into stretches in which the same
    steps have started and the same non-repeating ones hold; inside one stretch a repeating
    step's activity depends only on the phase within the shared period, so the first switch-on
    of each repeating step in each stretch stands for all later ones. The number of candidates
    is at most (2 n + 1) (r + 1) for n steps, r of them repeating, whatever the period or the
    onsets (a 0.01 ms period with an onset of 1e6 ms costs what a 2 s period does); the loader
    caps n (program_file.MAX_STEPS_PER_STATE), so the check is bounded in time and memory.
    """
    usable = [
        s
        for s in steps
        if _finite(s.onset_ms)
        and _finite(s.amplitude_ma)
        and s.onset_ms >= 0
        and (s.duration_ms is None or (_finite(s.duration_ms) and s.duration_ms > 0))
        and (s.period_ms is None or (_finite(s.period_ms) and s.period_ms > 0))
        and s.electrodes
    ]
    if not usable:
        return 0.0
    periods = _periods(tuple(usable))
    shared = next(iter(periods)) if len(periods) == 1 else None
    onset = np.array([s.onset_ms for s in usable], dtype=float)
    duration = np.array(
        [np.inf if s.duration_ms is None else s.duration_ms for s in usable], dtype=float
    )
    repeating = np.array([s.period_ms is not None for s in usable])
    if shared is None:  # mixed periods (reported apart): a repeating step counts as always on
        duration[repeating] = np.inf
        repeating[:] = False
    amplitude = np.array([s.amplitude_ma for s in usable], dtype=float)
    ends = onset[~repeating] + duration[~repeating]
    bounds = np.unique(np.concatenate([[0.0], onset, ends[np.isfinite(ends)]]))
    nexts = np.append(bounds[1:], np.inf)
    candidates = [bounds]
    if shared is not None and repeating.any():
        period = float(shared)
        for start in onset[repeating]:
            k = np.ceil(np.maximum(bounds - start, 0.0) / period)
            first = start + k * period
            candidates.append(first[(first < nexts) & (first >= bounds)])
    times = np.unique(np.concatenate(candidates))
    since = times[:, None] - onset[None, :]
    phase = since.copy()
    if shared is not None:
        wrapped = np.mod(since[:, repeating], float(shared))
        wrapped[np.isclose(wrapped, float(shared), rtol=0, atol=1e-9)] = 0.0  # round-off
        phase[:, repeating] = wrapped
    active = (since >= -1e-9) & (phase < duration[None, :])
    drawn = np.where(active, amplitude[None, :], 0.0)
    by_electrode: dict[int, list[int]] = {}
    for i, s in enumerate(usable):
        for e in set(s.electrodes):
            by_electrode.setdefault(e, []).append(i)
    total = np.zeros(times.size)
    for members in by_electrode.values():
        total += drawn[:, members].max(axis=1)
    return float(total.max())


def validate_program(
    program: Program,
    *,
    backend: str | None = None,
    electrodes: tuple[Electrode, ...] | None = None,
    limits: SafetyLimits | None = None,
) -> list[Violation]:
    """Every violation of the program against the backend's limits (empty list: valid)."""
    from openbsi.stimulation.program import program_layout

    kind = backend or program.backend
    out: list[Violation] = []
    if backend is not None and backend != program.backend:
        out.append(
            Violation(
                "backend",
                math.nan,
                math.nan,
                "backend_mismatch",
                f"program is for {program.backend!r}, checked against {backend!r}",
            )
        )
    limits = limits if limits is not None else limits_for_backend(kind)
    layout = electrodes if electrodes is not None else program_layout(program, kind)
    by_index = {e.index: e for e in layout}
    for state, steps in program.states.items():
        for i, step in enumerate(steps):
            out += _check_step(step, f"states.{state}[{i}]", limits, by_index)
        periods = _periods(steps)
        if len(periods) > 1:
            out.append(
                Violation(
                    f"states.{state}",
                    len(periods),
                    1,
                    "mixed_periods",
                    f"repeating steps of one state must share one period_ms, got {sorted(periods)}",
                )
            )
        total = _peak_total_ma(steps)
        if total > limits.max_total_ma:
            out.append(
                Violation(
                    f"states.{state}",
                    total,
                    limits.max_total_ma,
                    "max_total",
                    f"steps active together draw {total:.4g} mA in total",
                )
            )
    return out


def load_valid_program(
    path: str | os.PathLike[str],
    *,
    backend: str | None = None,
    electrodes: tuple[Electrode, ...] | None = None,
) -> Program:
    """Load a program file through the hardened loader and check it against the backend; every
    command that runs a program uses this. A ValueError (one line, every violation named)
    otherwise."""
    from openbsi.stimulation.program import load_program

    program = load_program(path)
    violations = validate_program(program, backend=backend, electrodes=electrodes)
    if violations:
        listed = "; ".join(f"{v.field}: {v.message}" for v in violations[:5])
        more = f" (+{len(violations) - 5} more)" if len(violations) > 5 else ""
        kind = backend or program.backend
        raise ValueError(f"{path}: program is not valid for the {kind}: {listed}{more}")
    return program
