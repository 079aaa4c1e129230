"""The reduced body stays within physiological ranges during stimulated stepping.

Bounds: swing peak knee flexion ~1.1 rad and hip flexion ~0.5 rad in healthy gait (Winter,
Biomechanics and Motor Control of Human Movement), with margin for stimulated SCI stepping;
foot clearance under body-weight support 0.05-0.30 m (unconfirmed); peak joint speeds in gait
~5-7 rad/s (Winter, unconfirmed), so 10 rad/s is a generous bound; no knee hyperextension.
"""

import numpy as np
import pytest

from openbsi.patient.intent import IntentBlock, IntentScript
from openbsi.patient.virtual import VirtualPatient
from openbsi.stimulation.electrodes import PADDLE_16, find_electrode
from openbsi.stimulation.types import Pulse

MAX_KNEE_RAD = 1.3
MAX_HIP_RAD = 0.9
MAX_CLEARANCE_M = 0.30
MIN_PEAK_CLEARANCE_M = 0.05
MAX_JOINT_SPEED_RAD_S = 10.0
SECONDS = 20.0


def _stimulated(amplitude_ma: float, train_s: float) -> VirtualPatient:
    """Alternating left/right L1 trains at 40 Hz, one side per second (AIS A patient)."""
    script = IntentScript((IntentBlock(0, SECONDS, "rest", 0.0),))
    vp = VirtualPatient(script, np.random.default_rng(0), profile="complete-thoracic")
    left = find_electrode(PADDLE_16, "left", "L1").index
    right = find_electrode(PADDLE_16, "right", "L1").index
    for tick in range(int(SECONDS * 10)):
        t = tick * 0.1
        phase = t % 2.0
        electrode = left if phase < train_s else right if 1.0 <= phase < 1.0 + train_s else None
        if electrode is not None:
            vp.receive_pulses(
                [Pulse(int((t + j / 40) * 1e9), electrode, amplitude_ma, 300.0) for j in range(4)]
            )
        vp.advance(t + 0.1)
    return vp


@pytest.mark.parametrize(("amplitude_ma", "train_s"), [(5.0, 0.9), (8.0, 0.8)])
def test_stimulated_stepping_stays_within_physiological_bounds(
    amplitude_ma: float, train_s: float
) -> None:
    vp = _stimulated(amplitude_ma, train_s)
    trace = vp.trace()
    dt_s = np.diff(trace["t_s"])
    for side in ("left", "right"):
        assert trace[f"{side}_knee_rad"].max() <= MAX_KNEE_RAD
        assert trace[f"{side}_knee_rad"].min() >= 0.0
        assert trace[f"{side}_hip_rad"].max() <= MAX_HIP_RAD
        clearance = trace[f"{side}_foot_height_m"]
        assert MIN_PEAK_CLEARANCE_M <= clearance.max() <= MAX_CLEARANCE_M
        for joint in ("hip", "knee", "ankle"):
            speed = np.abs(np.diff(trace[f"{side}_{joint}_rad"])) / dt_s
            assert speed.max() < MAX_JOINT_SPEED_RAD_S, f"{side} {joint}"
    events = vp.step_events()
    assert {e.side for e in events} == {"left", "right"}
    assert len(events) > 4
    assert all(e.clearance_m <= MAX_CLEARANCE_M for e in events)


def test_no_stimulation_no_steps_in_ais_a() -> None:
    script = IntentScript((IntentBlock(0, SECONDS, "rest", 0.0),))
    vp = VirtualPatient(script, np.random.default_rng(0), profile="complete-thoracic")
    vp.advance(SECONDS)
    assert vp.gait_summary().steps == 0
    assert vp.trace()["left_hip_rad"].max() < 0.1


def test_end_of_range_stops_resist_and_grow_exponentially() -> None:
    from openbsi.patient.body_reduced import KNEE_EXTENSION_STOP, KNEE_FLEXION_STOP, ReducedBody

    onset = KNEE_EXTENSION_STOP[0]
    assert ReducedBody._low_stop_nm(onset + 0.05, KNEE_EXTENSION_STOP) == 0.0
    near, far = (ReducedBody._low_stop_nm(onset - d, KNEE_EXTENSION_STOP) for d in (0.05, 0.1))
    assert near > 0.0 and far > 2.0 * near  # pushes toward flexion, steeply
    flex_onset = KNEE_FLEXION_STOP[0]
    assert ReducedBody._stop_nm(flex_onset - 0.1, KNEE_FLEXION_STOP) == 0.0
    assert ReducedBody._stop_nm(flex_onset + 0.2, KNEE_FLEXION_STOP) > 0.0


def test_push_off_then_hip_trains_step_with_clearance() -> None:
    """S1 push-off before each L1 train (stepping_schedule): steps clear the 10 cm bar."""
    from openbsi.patient.session import run_patient, stepping_schedule, train_source

    script = IntentScript((IntentBlock(0, 12.0, "rest", 0.0),))
    vp = VirtualPatient(script, np.random.default_rng(0), profile="complete-thoracic")
    pair = {
        r: tuple(find_electrode(PADDLE_16, s, r).index for s in ("left", "right"))
        for r in ("L1", "S1")
    }
    run_patient(
        vp, 12.0, pulse_source=train_source(stepping_schedule(12.0, pair["L1"], pair["S1"]))
    )
    summary = vp.gait_summary()
    assert summary.steps >= 8
    assert summary.failed_steps <= summary.steps // 4
