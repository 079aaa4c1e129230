import numpy as np

from openbsi.patient.intent import IntentBlock, IntentScript
from openbsi.patient.virtual import VirtualPatient
from openbsi.stimulation.electrodes import PADDLE_16, find_electrode
from openbsi.stimulation.types import Pulse

REST_20 = IntentScript((IntentBlock(0, 20, "rest", 0.0),))


def _run(stimulate: bool, seconds: float = 20.0) -> VirtualPatient:
    vp = VirtualPatient(REST_20, np.random.default_rng(0), profile="complete-thoracic")
    left = find_electrode(PADDLE_16, "left", "L1").index
    right = find_electrode(PADDLE_16, "right", "L1").index
    for tick in range(int(seconds * 10)):
        t = tick * 0.1
        phase = t % 2.0
        electrode = left if phase < 0.5 else right if 1.0 <= phase < 1.5 else None
        if stimulate and electrode is not None:
            vp.receive_pulses(
                [Pulse(int((t + j / 40) * 1e9), electrode, 5.0, 300.0) for j in range(4)]
            )
        vp.advance(t + 0.1)
    return vp


def test_ais_a_makes_no_steps_without_stimulation() -> None:
    vp = _run(stimulate=False)
    assert vp.gait_summary().steps == 0
    trace = vp.trace()
    assert trace["act_left_iliopsoas"].max() < 0.1  # stretch reflex only, no EES drive


def test_hip_flexion_trains_produce_steps_on_both_sides() -> None:
    vp = _run(stimulate=True)
    events = vp.step_events()
    assert {e.side for e in events} == {"left", "right"}
    assert vp.gait_summary().steps == len(events) > 4
    assert all(e.failed == (e.clearance_m < 0.10) for e in events)
    trace = vp.trace()
    assert trace["t_s"].size == 2000
    assert trace["act_left_iliopsoas"].max() > 0.3
    assert trace["left_hip_rad"].max() > 0.2


def test_voluntary_stepping_follows_lesion_grade_without_stimulation() -> None:
    from openbsi.patient.intent import walking_script
    from openbsi.patient.session import run_patient

    steps = {}
    for profile in ("complete-thoracic", "bsi-walker", "cervical-incomplete"):  # AIS A, C, D
        rng_script, rng_patient = np.random.default_rng(0).spawn(2)
        script = walking_script(60.0, rng_script)
        vp = VirtualPatient(script, rng_patient, profile=profile)
        run_patient(vp, 60.0, keep_ecog=False)
        steps[profile] = vp.gait_summary().steps
    assert steps["complete-thoracic"] == 0
    assert steps["bsi-walker"] <= steps["cervical-incomplete"]
    assert steps["cervical-incomplete"] > 0
