from dataclasses import replace

import numpy as np
import pytest

from openbsi.patient.intent import IntentBlock, IntentScript
from openbsi.patient.profiles import get_profile
from openbsi.patient.session import run_patient, train_source
from openbsi.patient.virtual import VirtualPatient
from openbsi.stimulation.electrodes import PADDLE_16, find_electrode

pytest.importorskip("mujoco")
pytest.importorskip("myo_sim")

REST = IntentScript((IntentBlock(0, 4, "rest", 0.0),))
_AIS_A = get_profile("complete-thoracic")
# Belt stopped: with a moving belt the loaded legs trail and hip trains alone cannot lift them.
STILL_BELT = replace(_AIS_A, body=replace(_AIS_A.body, belt_speed_m_s=0.0))


def _run(stimulate: bool) -> VirtualPatient:
    vp = VirtualPatient(REST, np.random.default_rng(0), profile=STILL_BELT, body="mujoco")
    left_l1 = find_electrode(PADDLE_16, "left", "L1").index
    source = train_source([(1.0, 1.5, left_l1, 8.0)]) if stimulate else None
    run_patient(vp, 4.0, pulse_source=source, keep_ecog=False)
    return vp


def test_mujoco_ais_a_without_stimulation_makes_no_steps() -> None:
    vp = _run(stimulate=False)
    assert vp.gait_summary().steps == 0
    trace = vp.trace()
    assert trace["t_s"].size == 400
    for key in ("left_hip_rad", "right_knee_rad", "left_foot_height_m", "emg_left_iliopsoas"):
        assert np.isfinite(trace[key]).all()
    assert trace["act_left_iliopsoas"].max() < 0.1  # stretch reflex only, no EES drive


def test_mujoco_hip_flexion_train_flexes_the_stimulated_hip() -> None:
    quiet, stim = _run(stimulate=False).trace(), _run(stimulate=True).trace()
    window = (quiet["t_s"] > 1.0) & (quiet["t_s"] < 2.0)
    assert stim["act_left_iliopsoas"][window].max() > 0.3
    gain_left = stim["left_hip_rad"][window].max() - quiet["left_hip_rad"][window].max()
    assert gain_left > 0.2


def test_mujoco_legs_step_under_alternating_hip_trains_on_the_treadmill() -> None:
    from openbsi.patient.session import alternating_hip_schedule

    script = IntentScript((IntentBlock(0, 10, "rest", 0.0),))
    vp = VirtualPatient(
        script, np.random.default_rng(0), profile="complete-thoracic", body="mujoco"
    )
    sched = alternating_hip_schedule(
        10.0,
        find_electrode(PADDLE_16, "left", "L1").index,
        find_electrode(PADDLE_16, "right", "L1").index,
    )
    run_patient(vp, 10.0, pulse_source=train_source(sched), keep_ecog=False)
    events = vp.step_events()
    assert {e.side for e in events} == {"left", "right"}
    good = [e for e in events if e.length_m > 0.1]
    assert len(good) >= 6
    assert all(e.failed == (e.clearance_m < 0.10) for e in events)
