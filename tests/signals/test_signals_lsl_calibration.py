"""`openbsi calibrate --source lsl:NAME`: a model from a third-party outlet's stream, with a
behavioural channel in it; its labels and channels as for a file."""

from __future__ import annotations

import importlib.util
import json
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from openbsi.cli import app
from openbsi.decoding.model_file import load_model
from openbsi.signals import StreamInfo
from openbsi.signals.lsl import LslPublisher, publish_realtime

_spec = importlib.util.spec_from_file_location(
    "recording_fixtures", Path(__file__).with_name("recording_fixtures.py")
)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)
pytestmark = pytest.mark.slow


def test_calibrate_from_an_lsl_outlet(tmp_path):
    data, _ = fixtures.grip_signals(np.random.default_rng(5), 40.0)
    data = np.r_[data[:6] * 1e6, data[-1:]]  # ECoG in uV, the force channel as is
    name = f"grip-{uuid.uuid4().hex[:8]}"
    info = StreamInfo(name, fixtures.SFREQ, (*fixtures.ECOG, fixtures.FORCE))
    position = {"n": 0}

    def read_block(n: int) -> np.ndarray:
        a = position["n"] % data.shape[1]
        block = np.take(data, np.arange(a, a + n), axis=1, mode="wrap")
        position["n"] += n
        return block

    stop = threading.Event()
    with LslPublisher(info) as publisher:
        thread = threading.Thread(
            target=publish_realtime,
            args=(publisher, read_block, None),
            kwargs={"should_stop": stop.is_set},
            daemon=True,
        )
        thread.start()
        try:
            out = tmp_path / "lsl.obsi"
            result = CliRunner().invoke(
                app,
                [
                    "calibrate",
                    "--source",
                    f"lsl:{name}",
                    "--labels",
                    f"channel:{fixtures.FORCE}",
                    "--line-hz",
                    "60",
                    "--seconds",
                    "20",
                    "--decoder",
                    "bandpower_lda",
                    "--out",
                    str(out),
                    "--json",
                ],
            )
        finally:
            stop.set()
            thread.join(timeout=5)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["channels"] == fixtures.ECOG  # the label channel is not a signal
    assert summary["windows"]["per_state"]["move"] > 20
    model = load_model(out)
    assert model.channel_names == tuple(fixtures.ECOG) and model.state_names == ("rest", "move")
    assert model.feature_config.notch_hz == 60.0
