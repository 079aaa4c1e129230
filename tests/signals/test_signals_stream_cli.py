"""`openbsi stream virtual` publishes the virtual patient from its own process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

from openbsi.signals.lsl import LslSource

# Runs the CLI with the stream commands registered (cli/__init__ imports them in the package).
pytestmark = pytest.mark.slow  # end-to-end: separate processes over LSL

CLI = "import openbsi.cli.stream; from openbsi.cli.apps import app, run; run(app)"


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_stream_virtual_rejects_a_bad_profile() -> None:
    from typer.testing import CliRunner

    import openbsi.cli.stream  # noqa: F401  (registers the command)
    from openbsi.cli.apps import app

    args = ["stream", "virtual", "--name", "x", "--profile", "nobody", "--seconds", "1"]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, ValueError)
    assert "profile must be one of" in str(result.exception)


def test_stream_virtual_publishes_ecog_and_feels_pulses_from_another_process() -> None:
    """ECoG out over LSL, pulses in over LSL: the patient side of a loop across processes."""
    from mne_lsl.lsl import StreamInfo, StreamOutlet, local_clock

    name = f"openbsi-pulses-{uuid.uuid4().hex[:8]}"
    info = StreamInfo(name, "Stim", 4, 0.0, "float64", name)
    info.set_channel_names(["electrode", "amplitude_ma", "pulse_width_us", "interphase_gap_us"])
    outlet = StreamOutlet(info)
    process = _cli("stream", "virtual", "--name", name + "-ecog", "--pulses", name, "--json")
    try:
        with LslSource(name + "-ecog", timeout_s=15.0) as source:
            assert source.info.n_channels == 64 and source.info.unit == "uV"
            blocks, n = [], 0
            while n < int(source.info.sfreq_hz * 0.3):
                time.sleep(0.1)
                chunk = source.pull()
                blocks.append(chunk.data)
                n += chunk.n_samples
            data = np.concatenate(blocks, axis=1)
            assert np.isfinite(data).all()
            assert 0.1 < float(np.median(data.std(axis=1))) < 1e4  # microvolt-scale ECoG
        assert outlet.wait_for_consumers(10.0)
        sent = 0
        for _ in range(10):
            t = local_clock()
            pulses = np.array([[3, 2.0, 300.0, 20.0], [7, 1.5, 300.0, 20.0]])
            outlet.push_chunk(pulses, np.array([t, t + 0.01]))
            sent += 2
            time.sleep(0.05)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["pulses_received"] == sent
    assert summary["name"] == name + "-ecog" and summary["samples_sent"] >= n


def test_stream_replay_publishes_a_recording_sample_for_sample(tmp_path) -> None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "signals_file_writers", Path(__file__).with_name("signals_file_writers.py")
    )
    writers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(writers)
    rng = np.random.default_rng(5)
    data = rng.normal(0, 30, (4, 1200)).astype(np.float32).astype(float)  # 2 s at 600 Hz
    path = tmp_path / "rec.vhdr"
    writers.write_brainvision(path, data, 600.0, ["a", "b", "c", "d"])
    name = f"openbsi-replay-{uuid.uuid4().hex[:8]}"
    process = _cli("stream", "replay", str(path), "--name", name, "--speed", "2", "--json")
    try:
        with LslSource(name, timeout_s=15.0) as source:
            assert source.info.channel_names == ("a", "b", "c", "d")
            assert source.info.sfreq_hz == pytest.approx(1200.0, rel=1e-5)  # published at 2x
            got = []
            deadline = time.monotonic() + 20
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
                got.append(source.pull().data)
            time.sleep(0.2)
            got.append(source.pull().data)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, err
    received = np.concatenate(got, axis=1)
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["samples_sent"] == 1200
    # The inlet may have joined a little late: what it got is the tail of the file, exactly.
    assert 0 < received.shape[1] <= 1200
    np.testing.assert_allclose(received, data[:, 1200 - received.shape[1] :], atol=1e-4)
