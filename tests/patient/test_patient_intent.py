import numpy as np
import pytest

from openbsi.patient.intent import (
    IntentBlock,
    IntentScript,
    cued_calibration_script,
    walking_script,
)
from openbsi.states import STATES


def test_calibration_script_is_contiguous_and_covers_duration() -> None:
    script = cued_calibration_script(120.0, np.random.default_rng(0))
    assert script.duration_s == pytest.approx(120.0)
    states = [b.state for b in script.blocks]
    assert states[0] == "rest"
    assert all(states[i] == "rest" for i in range(0, len(states), 2))
    assert set(states) == set(STATES)
    durations = [b.stop_s - b.start_s for b in script.blocks]
    assert min(durations[:-1]) >= 4.0 and max(durations[:-1]) <= 7.0
    assert 2.0 <= durations[-1] <= 9.0  # the last block absorbs any stub


def test_walking_script_has_all_states_and_mostly_hip() -> None:
    script = walking_script(200.0, np.random.default_rng(1))
    states = [b.state for b in script.blocks]
    assert set(states) == set(STATES)
    hip = sum(s.endswith("_hip") for s in states)
    assert hip > len(states) / 3


def test_state_and_amplitude_lookup_shift_and_concat() -> None:
    a = IntentScript((IntentBlock(0, 2, "rest", 0.0), IntentBlock(2, 5, "left_hip", 0.7)))
    assert a.state_at(1.0) == "rest" and a.state_at(2.0) == "left_hip"
    assert a.amplitude_at(3.0) == 0.7 and a.state_at(5.0) == "rest"
    b = a.concatenated(a)
    assert b.duration_s == 10.0 and b.state_at(8.0) == "left_hip"
    c = a.shifted(1.5)
    assert c.state_at(1.0) == "rest" and c.state_at(3.6) == "left_hip"
    looked_up = a.states_at(np.array([-1.0, 1.0, 3.0, 9.0]))
    assert list(looked_up) == ["rest", "rest", "left_hip", "rest"]
    assert list(a.amplitudes_at(np.array([-1.0, 1.0, 3.0, 9.0]))) == [0.0, 0.0, 0.7, 0.0]


def test_invalid_blocks_are_rejected() -> None:
    with pytest.raises(ValueError, match="state"):
        IntentBlock(0, 1, "jump", 0.5)
    with pytest.raises(ValueError, match="amplitude"):
        IntentBlock(0, 1, "left_hip", 1.5)
    with pytest.raises(ValueError, match="contiguous"):
        IntentScript((IntentBlock(0, 1, "rest", 0.0), IntentBlock(2, 3, "rest", 0.0)))
