"""MyoLeg kinematics under the harness (issue 14, item 5): the bounds that hold today."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.patient.intent import IntentBlock, IntentScript, walking_script
from openbsi.patient.session import run_patient
from openbsi.patient.virtual import STRETCH_REFLEX_GAIN, VirtualPatient
from openbsi.runtime.stim_paths import stim_path
from openbsi.safety.supervisor import SafetySupervisor
from openbsi.stimulation.mapper import Mapper


def test_stretch_reflex_is_on_by_default() -> None:
    assert STRETCH_REFLEX_GAIN > 0


@pytest.mark.slow
def test_no_sustained_ankle_clonus_at_rest() -> None:
    script = IntentScript((IntentBlock(0.0, 26.0, "rest", 0.0),))
    patient = VirtualPatient(script, np.random.default_rng(0), body="mujoco")
    run_patient(patient, 25.0, keep_ecog=False)
    trace = patient.trace()
    settled = trace["t_s"] >= 5.0  # 20 s after the legs settle into the harness
    for side in ("left", "right"):
        assert np.std(trace[f"{side}_ankle_rad"][settled]) <= 0.01


@pytest.mark.slow
def test_stimulated_stepping_swing_knee_and_hip_bounds() -> None:
    path = stim_path("paddle")
    rng_script, rng_patient = np.random.default_rng(0).spawn(2)
    script = walking_script(30.0, rng_script)
    patient = VirtualPatient(script, rng_patient, body="mujoco")
    supervisor = SafetySupervisor(path.limits, path.electrodes)
    stimulator = path.make_stimulator("virtual", supervisor, None)
    mapper = Mapper(path.load_program(None), path.electrodes)

    def source(t0: float, t1: float):
        now = round(t0 * 1e9)
        stimulator.deliver(mapper.map(script.state_at(t0), script.amplitude_at(t0), now), now)
        return stimulator.run_until(round(t1 * 1e9))

    run_patient(patient, 30.0, pulse_source=source, keep_ecog=False)
    trace = patient.trace()
    assert patient.gait_summary().steps > 0  # swing initiation intact with the reflex on
    knee = max(trace["left_knee_rad"].max(), trace["right_knee_rad"].max())
    hip = max(trace["left_hip_rad"].max(), trace["right_hip_rad"].max())
    assert 0.7 <= knee <= 1.3
    assert hip <= 0.8
