"""MyoLeg under the harness, with the profiles' atrophied muscles (strength 0.5)."""

from dataclasses import replace

import numpy as np
import pytest

from openbsi.patient.intent import IntentBlock, IntentScript
from openbsi.patient.profiles import get_profile
from openbsi.patient.session import (
    alternating_hip_schedule,
    run_patient,
    stepping_schedule,
    train_source,
)
from openbsi.patient.virtual import VirtualPatient
from openbsi.stimulation.electrodes import PADDLE_16, find_electrode

pytest.importorskip("mujoco")
pytest.importorskip("myo_sim")

REST = IntentScript((IntentBlock(0, 4, "rest", 0.0),))
_AIS_A = get_profile("complete-thoracic")
# Belt stopped, so that a leg that does not swing stays under the body.
STILL_BELT = replace(_AIS_A, body=replace(_AIS_A.body, belt_speed_m_s=0.0))


def _electrodes(root: str) -> tuple[int, int]:
    return tuple(find_electrode(PADDLE_16, side, root).index for side in ("left", "right"))


def _run(profile, seconds: float, schedule: list | None) -> VirtualPatient:
    script = IntentScript((IntentBlock(0, seconds, "rest", 0.0),))
    vp = VirtualPatient(script, np.random.default_rng(0), profile=profile, body="mujoco")
    source = train_source(schedule) if schedule else None
    run_patient(vp, seconds, pulse_source=source, keep_ecog=False)
    return vp


def test_mujoco_ais_a_without_stimulation_makes_no_steps() -> None:
    vp = _run(STILL_BELT, 4.0, None)
    assert vp.gait_summary().steps == 0
    trace = vp.trace()
    assert trace["t_s"].size == 400
    for key in ("left_hip_rad", "right_knee_rad", "left_foot_height_m", "emg_left_iliopsoas"):
        assert np.isfinite(trace[key]).all()
    settled = trace["t_s"] > 1.0  # the legs settle into the harness first (stretch reflexes)
    assert trace["act_left_iliopsoas"][settled].max() < 0.1  # no EES drive


def test_mujoco_push_off_then_hip_train_lifts_the_stimulated_leg() -> None:
    left_s1, left_l1 = _electrodes("S1")[0], _electrodes("L1")[0]
    # Moving belt: the legs trail behind the hip, as at the end of stance.
    hip_only = _run(_AIS_A, 3.0, [(1.3, 1.8, left_l1, 5.0)]).trace()
    both = _run(_AIS_A, 3.0, [(1.0, 1.3, left_s1, 3.5), (1.3, 1.8, left_l1, 5.0)]).trace()
    window = (both["t_s"] > 1.0) & (both["t_s"] < 2.2)
    assert hip_only["act_left_iliopsoas"][window].max() > 0.3  # the train reaches the muscle
    # ... but a hip train alone cannot unload a weight-bearing leg of atrophied muscles,
    assert hip_only["left_foot_height_m"][window].max() < 0.02
    # while a push-off first lets the same train swing it.
    assert both["left_foot_height_m"][window].max() > 0.10
    assert both["left_hip_rad"][window].max() > hip_only["left_hip_rad"][window].max() + 0.2


def test_mujoco_legs_step_under_push_off_and_hip_trains_on_the_treadmill() -> None:
    seconds = 10.0
    hip, push, stance = _electrodes("L1"), _electrodes("S1"), _electrodes("L3")
    vp = _run("bsi-walker", seconds, stepping_schedule(seconds, hip, push))
    events = vp.step_events()
    assert {e.side for e in events} == {"left", "right"}
    good = [e for e in events if e.length_m > 0.1 and not e.failed]
    assert len(good) >= 6
    # L3 on the stance leg (weight acceptance) lengthens the steps.
    supported = _run(
        "bsi-walker", seconds, stepping_schedule(seconds, hip, push, stance_electrodes=stance)
    )
    assert supported.gait_summary().step_length_m > vp.gait_summary().step_length_m + 0.05
    assert all(e.failed == (e.clearance_m < 0.10) for e in events)
    trace = vp.trace()
    dt_s = np.diff(trace["t_s"])
    for side in ("left", "right"):
        # Soft stops: no knee hyperextension beyond a few degrees, swing within range.
        assert trace[f"{side}_knee_rad"].min() > -0.1
        assert trace[f"{side}_knee_rad"].max() < 1.6
        assert trace[f"{side}_hip_rad"].max() < 0.9
        for joint in ("hip", "knee"):
            speed = np.abs(np.diff(trace[f"{side}_{joint}_rad"])) / dt_s
            assert speed.max() < 10.0, f"{side} {joint}"


def test_mujoco_hip_trains_alone_do_not_walk_the_atrophied_legs() -> None:
    seconds = 6.0
    hip = _electrodes("L1")
    vp = _run("bsi-walker", seconds, alternating_hip_schedule(seconds, *hip))
    assert sum(not e.failed for e in vp.step_events()) == 0


def test_mujoco_body_rejects_out_of_range_strength() -> None:
    from openbsi.patient.body_mujoco import MujocoBody

    with pytest.raises(ValueError, match=r"strength must be in \(0, 1\], got 1.5"):
        MujocoBody(strength=1.5)
