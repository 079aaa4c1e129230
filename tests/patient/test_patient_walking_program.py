"""The default walking program file steps repeatedly while a hip intention is decoded."""

import numpy as np
import pytest

from openbsi.cli.patient import _program_source
from openbsi.patient.intent import IntentBlock, IntentScript
from openbsi.patient.session import run_patient
from openbsi.patient.virtual import VirtualPatient
from openbsi.safety.program_check import validate_program
from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.examples import WALKING_PROGRAM_FILE
from openbsi.stimulation.program import load_program


def test_walking_program_file_is_valid_for_the_paddle() -> None:
    program = load_program(WALKING_PROGRAM_FILE)
    assert program.backend == "paddle"
    assert validate_program(program) == []
    # Swing trains on both legs that repeat while the hip state holds.
    hip_trains = [s for s in program.steps("left_hip") if s.duration_ms == 500.0]
    assert len({s.onset_ms for s in hip_trains}) == 2
    assert all(s.period_ms is not None for s in hip_trains)
    active_at = [t for t in range(0, 20_000, 100) if any(s.active(t) for s in hip_trains)]
    assert len(active_at) == 20 * 5  # 500 ms of swing train in every second, for 20 s


def test_walking_program_steps_both_legs_within_one_decoded_hip_block() -> None:
    pytest.importorskip("mujoco")
    pytest.importorskip("myo_sim")
    script = IntentScript(
        (
            IntentBlock(0.0, 1.0, "rest", 0.0),
            IntentBlock(1.0, 7.0, "left_hip", 1.0),
            IntentBlock(7.0, 8.0, "rest", 0.0),
        )
    )
    vp = VirtualPatient(script, np.random.default_rng(0), body="mujoco")
    run_patient(vp, 8.0, pulse_source=_program_source(WALKING_PROGRAM_FILE, script, PADDLE_16))
    events = [e for e in vp.step_events() if 1.0 < e.t_s < 8.0]
    assert {e.side for e in events} == {"left", "right"}
    assert len(events) >= 4
