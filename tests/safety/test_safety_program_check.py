"""Program validation: every example is valid; any numeric field pushed beyond its backend's
limits is rejected, naming the field."""

from __future__ import annotations

import dataclasses
import math

import pytest

from openbsi.safety.program_check import limits_for_backend, validate_program
from openbsi.stimulation.examples import example_program
from openbsi.stimulation.program import BACKEND_KINDS, Program, StimStep

FIELDS = ("amplitude_ma", "pulse_width_us", "frequency_hz", "interphase_gap_us")


@pytest.mark.parametrize("backend", BACKEND_KINDS)
def test_examples_are_valid(backend: str) -> None:
    assert validate_program(example_program(backend)) == []


def _beyond(backend: str, field: str, step: StimStep) -> float:
    limits = limits_for_backend(backend)
    return {
        "amplitude_ma": limits.max_amplitude_ma * 1.01,
        "pulse_width_us": limits.max_pulse_width_us + 1.0,
        "frequency_hz": limits.max_frequency_for(step.pulse_width_us, step.interphase_gap_us) + 1.0,
        "interphase_gap_us": limits.max_interphase_gap_us + 1.0,
    }[field]


def _push(program: Program, state: str, field: str, value: float) -> Program:
    steps = list(program.states[state])
    steps[0] = dataclasses.replace(steps[0], **{field: value})
    return dataclasses.replace(program, states={**program.states, state: tuple(steps)})


@pytest.mark.parametrize("backend", BACKEND_KINDS)
@pytest.mark.parametrize("field", FIELDS)
def test_each_field_beyond_its_limit_is_named(backend: str, field: str) -> None:
    program = example_program(backend)
    for state, steps in program.states.items():
        if not steps:
            continue
        bad = _push(program, state, field, _beyond(backend, field, steps[0]))
        violations = validate_program(bad)
        assert violations, (backend, state, field)
        assert any(v.field == f"states.{state}[0].{field}" for v in violations), violations


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0])
def test_non_finite_or_negative_fields(value: float) -> None:
    bad = _push(example_program("paddle"), "left_knee", "amplitude_ma", value)
    (violation,) = [v for v in validate_program(bad) if v.field.endswith("amplitude_ma")]
    assert violation.rule == "non_finite_or_negative"
    assert violation.to_json()["limit"] == 0.0


def test_charge_total_electrodes_and_backend_are_checked() -> None:
    program = example_program("paddle")
    shannon = _push(program, "left_knee", "amplitude_ma", 12.0)
    shannon = _push(shannon, "left_knee", "pulse_width_us", 450.0)
    rules = {v.rule for v in validate_program(shannon)}
    assert rules & {"shannon", "charge_density"}
    crowded = Program("c", "paddle", {"rest": (StimStep(tuple(range(8)), 4.0, 100.0, 40.0),)})
    assert [v.rule for v in validate_program(crowded)] == ["max_total"]
    unknown = Program("u", "paddle", {"rest": (StimStep((3, 40), 1.0, 100.0, 40.0),)})
    assert [v.rule for v in validate_program(unknown)] == ["unknown_electrode"]
    assert validate_program(program, backend="nodes")[0].rule == "backend_mismatch"
    slow = Program("s", "paddle", {"rest": (StimStep((3,), 1.0, 100.0, 0.5),)})
    assert [v.rule for v in validate_program(slow)] == ["min_frequency"]


def test_repeating_steps_are_checked_for_their_cycle() -> None:
    def step(electrodes: tuple[int, ...], onset_ms: float, **kw) -> StimStep:
        return StimStep(electrodes, 6.0, 300.0, 40.0, onset_ms=onset_ms, **kw)

    no_pause = Program("p", "paddle", {"rest": (step((1,), 0.0, period_ms=1000.0),)})
    assert [v.rule for v in validate_program(no_pause)] == ["period_without_duration"]
    too_long = Program(
        "p", "paddle", {"rest": (step((1,), 0.0, duration_ms=1500.0, period_ms=1000.0),)}
    )
    assert [v.rule for v in validate_program(too_long)] == ["duration_exceeds_period"]
    cycle = {"duration_ms": 100.0}
    mixed = Program(
        "p",
        "paddle",
        {
            "rest": (
                step((1,), 0.0, period_ms=1000.0, **cycle),
                step((2,), 0.0, period_ms=1500.0, **cycle),
            )
        },
    )
    assert [v.rule for v in validate_program(mixed)] == ["mixed_periods"]
    # A fires 12 mA over [0, 600) ms of every second; B fires 12 mA once. Only A's repeat
    # meets B at [1400, 1500): 24 mA > 20 mA in total. B at [1700, 1800) meets nothing.
    a = step((1, 2), 0.0, duration_ms=600.0, period_ms=1000.0)
    meets = Program("p", "paddle", {"left_hip": (a, step((3, 4), 1400.0, **cycle))})
    assert [v.rule for v in validate_program(meets)] == ["max_total"]
    apart = Program("p", "paddle", {"left_hip": (a, step((3, 4), 1700.0, **cycle))})
    assert validate_program(apart) == []
