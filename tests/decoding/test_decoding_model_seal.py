"""Model files sealed whole (#12.2): every byte flip refused; hostile bytes refused cleanly;
state set, channel names and feature configuration checked against the session."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbsi.decoding import make_decoder
from openbsi.decoding.model_file import (
    MAGIC,
    TRAILER,
    ModelFileError,
    _unseal,
    load_model,
    model_from_bytes,
    save_model,
)
from openbsi.features.extractor import FeatureConfig

CHANNELS = ("A1", "A2", "B1")


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 2, 3, 3))
    y = np.repeat([0, 1, 0], 20)
    X[y == 1, :, 2, 0] += 2.0
    decoder = make_decoder("mslm", n_states=2, max_components=2).fit(X, y, (y > 0) * 0.5)
    path = tmp_path_factory.mktemp("seal") / "m.obsi"
    config = FeatureConfig(freqs_hz=(10.0, 70.0, 120.0), n_times=2, notch_hz=60.0)
    save_model(
        path,
        decoder,
        config,
        1000.0,
        3,
        {"who": "seal test"},
        channel_names=CHANNELS,
        state_names=("rest", "move"),
    )
    return path, X


def test_round_trip_keeps_state_set_and_channels(small_model):
    path, X = small_model
    model = load_model(path)
    assert model.state_names == ("rest", "move")
    assert model.channel_names == CHANNELS
    assert model.feature_config.notch_hz == 60.0
    model.reset_filter()
    assert model.step(X[0])[0].shape == (2,)


def test_every_byte_flip_is_refused(small_model):
    raw = small_model[0].read_bytes()
    assert 1_000 < len(raw) < 60_000  # a real model, small enough to flip every byte
    model_from_bytes(raw)  # the unflipped file loads
    refused = 0
    for i in range(len(raw)):
        flipped = bytearray(raw)
        flipped[i] ^= 0xFF
        try:
            model_from_bytes(bytes(flipped))
        except ModelFileError:
            refused += 1
    assert refused == len(raw)


def test_resealed_edit_of_header_is_caught_by_session_checks(small_model, tmp_path):
    """A forger who recomputes the digest gets past the seal, but the notch and state set are
    still compared with the session's, naming each difference."""
    raw = small_model[0].read_bytes()
    sealed = raw[: -(len(TRAILER) + 65)]
    edited = sealed.replace(b'"notch_hz":60.0', b'"notch_hz":70.0')
    assert edited != sealed
    out = tmp_path / "resealed.obsi"
    out.write_bytes(edited + TRAILER + hashlib.sha256(edited).hexdigest().encode() + b"\n")
    model = load_model(out)
    session = FeatureConfig(freqs_hz=(10.0, 70.0, 120.0), n_times=2, notch_hz=60.0)
    with pytest.raises(ModelFileError, match="notch_hz"):
        model.check_stream(session, 1000.0, 3, CHANNELS, ("rest", "move"))


def test_stream_channel_order_and_state_set_differences_are_named(small_model):
    model = load_model(small_model[0])
    cfg = model.feature_config
    with pytest.raises(ModelFileError, match=r"channel order differs: first at position 0"):
        model.check_stream(cfg, 1000.0, 3, ("A2", "A1", "B1"))
    with pytest.raises(ModelFileError, match=r"missing from the stream: \['B1'\]"):
        model.check_stream(cfg, 1000.0, 3, ("A1", "A2", "C9"))
    with pytest.raises(ModelFileError, match="state set"):
        model.check_stream(cfg, 1000.0, 3, CHANNELS, ("rest", "grasp", "open"))


def test_old_unsealed_format_is_refused(tmp_path):
    path = tmp_path / "old.obsi"
    path.write_bytes(MAGIC + b'{"format_version":1,"payload_sha256":"00"}\n' + b"PK")
    with pytest.raises(ModelFileError, match="format 1 is not sealed"):
        load_model(path)


def _reseal(sealed: bytes) -> bytes:
    return sealed + TRAILER + hashlib.sha256(sealed).hexdigest().encode() + b"\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
        ),
        max_leaves=30,
    ),
    payload=st.binary(max_size=200),
)
def test_fuzz_sealed_hostile_headers_are_refused_cleanly(tmp_path_factory, header, payload):
    """Correctly sealed but hostile content: a model or a clean ModelFileError, quickly."""
    import json

    body = json.dumps(header).encode()
    path = tmp_path_factory.getbasetemp() / "fuzz.obsi"
    path.write_bytes(_reseal(MAGIC + body + b"\n" + payload))
    started = time.perf_counter()
    try:
        load_model(path)
    except ModelFileError as error:
        assert "\n" not in str(error)
    assert time.perf_counter() - started < 2.0


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fuzz_sealed_field_edits_of_a_real_header(small_model, tmp_path_factory, data):
    raw = small_model[0].read_bytes()
    body, payload = _unseal(raw, "m")
    key = data.draw(st.sampled_from(sorted(body)))
    body[key] = data.draw(
        st.none()
        | st.integers(-(10**20), 10**20)
        | st.text(max_size=5)
        | st.lists(st.integers(), max_size=3)
    )
    import json

    path = tmp_path_factory.getbasetemp() / "edit.obsi"
    header = json.dumps(body, separators=(",", ":")).encode()
    path.write_bytes(_reseal(MAGIC + header + b"\n" + payload))
    try:
        load_model(path)
    except ModelFileError as error:
        assert "\n" not in str(error)
