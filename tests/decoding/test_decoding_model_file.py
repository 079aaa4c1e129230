"""Model files: round trip, checksum, version and stream mismatch errors."""

import numpy as np
import pytest

from openbsi.decoding import make_decoder
from openbsi.decoding.model_file import ModelFileError, load_model, save_model
from openbsi.features.extractor import FeatureConfig


def _fitted(name):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 10, 15, 4))
    y = np.repeat([0, 1, 0, 4], 50)
    X[y == 1, :, 8:, 0] += 1.5
    X[y == 4, :, 8:, 3] += 1.5
    a = np.where(y > 0, 0.7, 0.0)
    return make_decoder(name).fit(X, y, a), X


@pytest.mark.parametrize("name", ["mslm", "mslm_nohmm", "bandpower_lda", "kalman"])
def test_round_trip_predicts_identically(tmp_path, name):
    dec, X = _fitted(name)
    path = save_model(tmp_path / "m.obsi", dec, FeatureConfig(), 586.0, 4, {"who": "test"})
    model = load_model(path)
    np.testing.assert_allclose(model.decoder.predict_proba(X), dec.predict_proba(X))
    assert model.feature_config == FeatureConfig()
    assert model.metadata == {"who": "test"}
    model.decoder.reset_filter()
    probs, _ = model.decoder.step(X[0])
    assert probs.shape == (7,)


def test_corruption_is_detected(tmp_path):
    dec, _ = _fitted("mslm")
    path = save_model(tmp_path / "m.obsi", dec, FeatureConfig(), 586.0, 4)
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(path)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "x.obsi"
    path.write_bytes(b"hello")
    with pytest.raises(ModelFileError, match="magic"):
        load_model(path)


def test_stream_mismatch_names_each_problem(tmp_path):
    dec, _ = _fitted("mslm")
    model = load_model(save_model(tmp_path / "m.obsi", dec, FeatureConfig(), 586.0, 4))
    model.check_stream(FeatureConfig(), 586.0, 4)  # matching stream: no error
    with pytest.raises(ModelFileError, match="sampling rate") as err:
        model.check_stream(FeatureConfig(notch_hz=60.0), 500.0, 8)
    message = str(err.value)
    assert "notch_hz" in message and "channel count" in message


def test_load_checks_stream_and_model_acts_as_decoder(tmp_path):
    dec, X = _fitted("mslm")
    path = save_model(tmp_path / "m.obsi", dec, FeatureConfig(), 586.0, 4)
    with pytest.raises(ModelFileError, match="channel count"):
        load_model(path, feature_config=FeatureConfig(), sfreq_hz=586.0, n_channels=64)
    model = load_model(path, feature_config=FeatureConfig(), sfreq_hz=586.0, n_channels=4)
    model.reset_filter()
    np.testing.assert_allclose(model.step(X[0])[0], dec.predict_proba(X[:1])[0])
