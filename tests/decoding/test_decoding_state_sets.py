"""State sets as data: decoders of any named set, programs that map states by name, and a
model whose state set differs from the session's program refused by name."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.decoding import make_decoder
from openbsi.decoding.model_file import ModelFileError, load_model, save_model
from openbsi.features.extractor import FeatureConfig
from openbsi.states import STATES
from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.mapper import Mapper
from openbsi.stimulation.program import program_from_dict, program_to_dict

UPPER_LIMB = ("rest", "grasp", "open")


def _windows(n_states: int):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(n_states), 40)
    y = np.r_[y, y]
    X = rng.standard_normal((len(y), 10, 15, 4))
    for k in range(1, n_states):
        X[y == k, :, 10:, k % 4] += 2.0
    return X, y


@pytest.mark.parametrize("name", ["mslm", "mslm_nohmm", "bandpower_lda", "kalman"])
@pytest.mark.parametrize("n_states", [2, 3])
def test_decoders_fit_any_state_set(name, n_states):
    X, y = _windows(n_states)
    decoder = make_decoder(name, n_states=n_states).fit(X, y, (y > 0) * 0.5)
    assert decoder.predict_proba(X).shape == (len(X), n_states)
    decoder.reset_filter()
    probs, _ = decoder.step(X[0])
    assert probs.shape == (n_states,) and np.isclose(probs.sum(), 1.0)
    if name != "kalman":  # the Kalman read-out is crude (a baseline)
        assert np.mean(decoder.predict(X) == y) > 0.8
    with pytest.raises(ValueError, match=r"y_state must hold integers in \[0, "):
        make_decoder(name, n_states=n_states).fit(X, np.full(len(X), n_states))


def test_program_maps_a_named_state_set_and_round_trips():
    step = {"electrodes": [3], "amplitude_ma": 2.0, "pulse_width_us": 300, "frequency_hz": 40}
    program = program_from_dict(
        {
            "name": "hand",
            "backend": "paddle",
            "state_set": list(UPPER_LIMB),
            "states": {"grasp": [step], "open": [step | {"electrodes": [5]}]},
        }
    )
    assert program.state_set == UPPER_LIMB
    assert program_from_dict(program_to_dict(program)) == program
    mapper = Mapper(program, PADDLE_16)
    assert [c.electrode for c in mapper.map("grasp", 1.0, 0).channels] == [3]
    assert [c.electrode for c in mapper.map("open", 1.0, 1).channels] == [5]
    assert mapper.map("left_hip", 1.0, 2).channels == ()  # not in this state set
    with pytest.raises(ValueError, match=r"states.grasp: unknown field"):
        program_from_dict({"name": "x", "backend": "paddle", "states": {"grasp": [step]}})


def test_model_state_set_is_checked_against_the_session(tmp_path):
    X, y = _windows(3)
    decoder = make_decoder("mslm", n_states=3).fit(X, y)
    path = save_model(
        tmp_path / "hand.obsi", decoder, FeatureConfig(), 586.0, 4, state_names=UPPER_LIMB
    )
    assert load_model(path, state_names=UPPER_LIMB).state_names == UPPER_LIMB
    with pytest.raises(ModelFileError, match=r"state set: model decodes \['rest', 'grasp'"):
        load_model(path, state_names=STATES)
    with pytest.raises(ValueError, match="state_names must name"):
        save_model(tmp_path / "bad.obsi", decoder, FeatureConfig(), 586.0, 4)
