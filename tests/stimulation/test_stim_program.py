"""Programs: default hotspots, repeating and unscaled steps, YAML round trip."""

from __future__ import annotations

import math

import pytest

from openbsi.states import STATES
from openbsi.stimulation.electrodes import PADDLE_16, find_electrode
from openbsi.stimulation.program import (
    Program,
    StimStep,
    default_paddle_program,
    dump_program,
    load_program,
    program_from_dict,
    program_to_dict,
    save_program,
)


def _roots(program: Program, state: str) -> set[tuple[str, str]]:
    by_index = {e.index: e for e in PADDLE_16}
    return {
        (by_index[i].side, by_index[i].root)
        for step in program.steps(state)
        for i in step.electrodes
    }


def test_default_program_follows_published_hotspots() -> None:
    program = default_paddle_program()
    assert program.backend == "paddle"
    assert set(program.states) <= set(STATES)
    for side, other in (("left", "right"), ("right", "left")):
        # a hip intention steps both legs: push-off S1, swing L1 + L4, stance L3
        assert _roots(program, f"{side}_hip") == {
            (s, r) for s in (side, other) for r in ("L1", "L3", "L4", "S1")
        }
        assert _roots(program, f"{side}_knee") == {(side, "L3")}
        assert _roots(program, f"{side}_ankle") == {(side, "S1")}
    assert _roots(program, "rest") <= {("left", "L3"), ("right", "L3")}
    trains = [
        s
        for s in program.steps("left_hip")
        if s.amplitude_ma == max(t.amplitude_ma for t in program.steps("left_hip"))
    ]
    assert {t.duration_ms for t in trains} == {500.0}  # "500 ms trains on L1" (Wagner 2018)


def test_the_walking_example_file_is_the_default_program() -> None:
    from openbsi.stimulation.examples import WALKING_PROGRAM_FILE

    assert load_program(WALKING_PROGRAM_FILE) == default_paddle_program()


def test_a_repeating_step_fires_once_per_period_while_the_state_holds() -> None:
    step = StimStep((0,), 5.0, 300.0, 40.0, onset_ms=300.0, duration_ms=500.0, period_ms=2000.0)
    fires = [t for t in range(0, 7000, 100) if step.active(float(t))]
    assert fires == [t for k in range(4) for t in range(300 + 2000 * k, 800 + 2000 * k, 100)]
    once = StimStep((0,), 5.0, 300.0, 40.0, onset_ms=300.0, duration_ms=500.0)
    assert [t for t in range(0, 7000, 100) if once.active(float(t))] == list(range(300, 800, 100))


def test_an_unscaled_step_keeps_its_amplitude_at_any_decoded_effort() -> None:
    from openbsi.stimulation.mapper import Mapper

    program = Program(
        "p",
        "paddle",
        {
            "rest": (
                StimStep((1,), 2.0, 300.0, 40.0, scaled=False),
                StimStep((2,), 2.0, 300.0, 40.0),
            )
        },
    )
    channels = Mapper(program, PADDLE_16).map("rest", 0.0, 0).channels
    assert [(c.electrode, c.amplitude_ma) for c in channels] == [(1, 2.0), (2, 0.6)]


def test_program_rejects_unknown_state_and_backend() -> None:
    with pytest.raises(ValueError, match="states keys"):
        Program("p", "paddle", {"jump": ()})
    with pytest.raises(ValueError, match="backend"):
        Program("p", "laser", {})
    with pytest.raises(ValueError, match="min_amplitude_fraction"):
        Program("p", "paddle", {}, min_amplitude_fraction=1.5)


def test_amplitude_scale_clips_and_handles_nan() -> None:
    program = Program("p", "paddle", {}, min_amplitude_fraction=0.25)
    assert program.amplitude_scale(0.0) == 0.25
    assert program.amplitude_scale(1.0) == 1.0
    assert program.amplitude_scale(7.0) == 1.0
    assert program.amplitude_scale(-3.0) == 0.25
    assert program.amplitude_scale(math.nan) == 0.25
    assert program.amplitude_scale(0.5) == pytest.approx(0.625)


def test_yaml_round_trip(tmp_path) -> None:
    program = Program(
        name="custom",
        backend="paddle",
        states={
            "rest": (),
            "left_knee": (
                StimStep((2, 3), 4.5, 250.0, 35.0, onset_ms=100.0, duration_ms=300.0),
                StimStep((7,), 1.25, 90.0, 60.0, interphase_gap_us=50.0),
                StimStep((8,), 2.0, 300.0, 40.0, duration_ms=200.0, period_ms=1000.0),
                StimStep((9,), 2.0, 300.0, 40.0, scaled=False),
            ),
        },
        min_amplitude_fraction=0.1,
        description="round trip",
    )
    path = tmp_path / "p.yaml"
    save_program(program, path)
    assert load_program(path) == program
    default = default_paddle_program()
    assert program_from_dict(program_to_dict(default)) == default


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("backend"), "backend: is required"),
        (lambda d: d.update(colour="red"), "colour: unknown field"),
        (lambda d: d["states"]["left_knee"][0].update(amplitude_ma="high"), "amplitude_ma"),
        (lambda d: d["states"]["left_knee"][0].update(electrodes=["E1"]), "electrodes"),
        (lambda d: d["states"]["left_knee"][0].update(volume=3), "volume: unknown field"),
        (lambda d: d.update(schema_version=9), "schema_version"),
    ],
)
def test_bad_documents_name_the_field(mutate, message) -> None:
    data = program_to_dict(default_paddle_program())
    mutate(data)
    with pytest.raises(ValueError, match=message):
        program_from_dict(data)


def test_dump_is_yaml_text() -> None:
    text = dump_program(default_paddle_program())
    assert "left_hip:" in text and "amplitude_ma" in text
    left_l1 = find_electrode(PADDLE_16, "left", "L1").index
    assert left_l1 in program_from_dict(__import__("yaml").safe_load(text)).electrodes_used()
