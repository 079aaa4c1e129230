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
