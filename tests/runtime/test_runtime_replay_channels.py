"""A replay session reads the model's channels, in the model's order, from a BIDS-iEEG file
that also holds LFP and a force channel; a model whose channels the file lacks is refused,
naming them. The BIDS dataset is written here with mne-bids (the real recording bundled with
py_neuromodulation is kept out of the tests: it is the one for the CLI bar of issue #10)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from openbsi.decoding import make_decoder
from openbsi.decoding.model_file import ModelFileError, save_model
from openbsi.features.extractor import FeatureConfig
from openbsi.runtime.clock import SimulatedClock
from openbsi.runtime.live_session import LiveSessionConfig, run_live_session
from openbsi.states import STATES
from openbsi.store.nwb import read_nwb

_spec = importlib.util.spec_from_file_location(
    "recording_fixtures", Path(__file__).parents[1] / "signals" / "recording_fixtures.py"
)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def bids_vhdr(tmp_path_factory) -> Path:
    return fixtures.write_bids(tmp_path_factory.mktemp("bids"), np.random.default_rng(3), 20.0)


def _model(
    path: Path,
    channel_names: tuple[str, ...] | None,
    n_channels: int,
    state_names: tuple[str, ...] = STATES,
) -> Path:
    """A model on n_channels (fitted on random features: the test is about which samples
    reach it, not what it decodes)."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(len(state_names)), 12)
    X = rng.standard_normal((len(y), 10, 15, n_channels))
    X[np.arange(len(y)), :, :, y % n_channels] += 1.0
    decoder = make_decoder("bandpower_lda", n_states=len(state_names)).fit(X, y, (y > 0) * 0.5)
    config = FeatureConfig(notch_hz=60.0)
    return save_model(
        path,
        decoder,
        config,
        fixtures.SFREQ,
        n_channels,
        channel_names=channel_names,
        state_names=state_names,
    )


def _config(out: Path, vhdr: Path, model: Path) -> LiveSessionConfig:
    return LiveSessionConfig(
        out_dir=out,
        seconds=4.0,
        source=f"replay:{vhdr}",
        stimulator="paddle",
        body="reduced",
        model=model,
    )


def test_replay_session_reads_the_models_channels_in_its_order(tmp_path, bids_vhdr):
    wanted = tuple(reversed(fixtures.ECOG[1:]))  # a subset, in another order than the file's
    model = _model(tmp_path / "m.obsi", wanted, len(wanted))
    result = run_live_session(_config(tmp_path / "run", bids_vhdr, model), clock=SimulatedClock())
    assert result.exit_code == 0, result.failures
    data = read_nwb(result.nwb_path)
    assert data.info.channel_names == wanted  # no LFP, no force channel, the model's order
    assert data.ecog.shape[1] == len(wanted)
    assert result.metrics["decoder"]["n_decodes"] >= 25
    # the samples are the file's own, picked by name (volts in the file, uV recorded)
    from openbsi.signals.readers import read_recording

    rec = read_recording(bids_vhdr)
    first = rec.channel(wanted[0])[: data.ecog.shape[0]]
    assert np.allclose(data.ecog[:, 0], first, atol=1e-2)


def test_replay_refuses_a_model_whose_channels_the_file_lacks(tmp_path, bids_vhdr):
    names = (*fixtures.ECOG[:5], "ECOG_9")
    model = _model(tmp_path / "m.obsi", names, len(names))
    refused = r"the model's channels: .* lacks the channels \['ECOG_9'\]"
    with pytest.raises(ValueError, match=refused):
        run_live_session(_config(tmp_path / "run", bids_vhdr, model), clock=SimulatedClock())
    assert not (tmp_path / "run").exists()  # a refused start leaves no run folder


def test_replay_without_model_channel_names_is_refused_by_count(tmp_path, bids_vhdr):
    """A model that does not name its channels gets every channel of the file: refused."""
    model = _model(tmp_path / "m.obsi", None, len(fixtures.ECOG))
    with pytest.raises(ModelFileError, match="channel count: model calibrated on 6, stream has 9"):
        run_live_session(_config(tmp_path / "run", bids_vhdr, model), clock=SimulatedClock())


def test_a_model_of_another_state_set_is_refused_at_the_start(tmp_path, bids_vhdr):
    """A rest/move model (what `calibrate` makes from a force channel) is refused before the
    session starts, naming the state set, instead of failing at its first decode."""
    model = _model(tmp_path / "m.obsi", tuple(fixtures.ECOG), 6, ("rest", "move"))
    with pytest.raises(ValueError, match=r"state set \['rest', 'move'\]: a session records"):
        run_live_session(_config(tmp_path / "run", bids_vhdr, model), clock=SimulatedClock())
    assert not (tmp_path / "run").exists()
