"""Validate a stimulation program against its backend's limits before it ever runs.

Every violation names the field (e.g. "states.left_hip[0].amplitude_ma"), the value, the
limit and the rule, so `openbsi program validate` can list them all at once.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

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

    The total only rises when a step starts, so the start times are the candidates; repeating
    steps share one period (checked), so one period past the last onset covers every overlap.
    """
    onsets = [s.onset_ms for s in steps if _finite(s.onset_ms)]
    periods = _periods(steps)
    times = {0.0, *onsets}
    if len(periods) == 1 and onsets:
        period = periods.pop()
        if period > 0:
            horizon = max(onsets) + period
            for step in steps:
                if step.period_ms is not None and _finite(step.onset_ms):
                    count = int((horizon - step.onset_ms) // period) + 1
                    times.update(step.onset_ms + k * period for k in range(count))
    peak = 0.0
    for t in sorted(times):
        per_electrode: dict[int, float] = {}
        for step in steps:
            if _finite(step.amplitude_ma) and step.active(t):
                for e in step.electrodes:
                    per_electrode[e] = max(per_electrode.get(e, 0.0), step.amplitude_ma)
        peak = max(peak, sum(per_electrode.values()))
    return peak


def validate_program(
    program: Program,
    *,
    backend: str | None = None,
    electrodes: tuple[Electrode, ...] | None = None,
    limits: SafetyLimits | None = None,
) -> list[Violation]:
    """Every violation of the program against the backend's limits (empty list: valid)."""
    from openbsi.stimulation.layouts import default_layout

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
    layout = electrodes if electrodes is not None else default_layout(kind)
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
