"""End to end: a short demo on the virtual patient, then the NWB and metrics.json it wrote."""

import json
import subprocess
import sys

import numpy as np
import pytest
from pynwb import NWBHDF5IO

from openbsi.states import STATES

pytestmark = pytest.mark.slow


# Short but complete: 60 s of cued calibration (every hip and knee block appears) + 15 s of
# closed loop; nothing below depends on the length beyond the sample and decode counts.
CALIBRATION_S, CLOSED_LOOP_S = 60, 15


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    command = [
        sys.executable,
        "-m",
        "openbsi",
        "demo",
        "--out",
        str(out),
        "--seconds",
        str(CLOSED_LOOP_S),
        "--calibration-s",
        str(CALIBRATION_S),
        "--seed",
        "3",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_run_folder_holds_recording_metrics_and_report(run_dir):
    for name in ("recording.nwb", "metrics.json", "report.html"):
        assert (run_dir / name).stat().st_size > 0, name


def test_nwb_holds_ecog_and_intent(run_dir):
    with NWBHDF5IO(str(run_dir / "recording.nwb"), "r") as io:
        nwb = io.read()
        ecog = nwb.acquisition["ECoG"]
        assert ecog.data.shape[1] == 64
        assert ecog.rate == pytest.approx(586.0)
        assert len(ecog.electrodes) == 64
        # calibration + closed loop simulated seconds of samples, within one tick
        assert abs(ecog.data.shape[0] - (CALIBRATION_S + CLOSED_LOOP_S) * 586) <= 59
        intent = nwb.intervals["intent"].to_dataframe()
        assert set(intent["state"]) <= set(STATES)
        assert {"rest", "left_hip", "right_hip"} <= set(intent["state"])
        assert np.all(np.diff(intent["start_time"].to_numpy()) > 0)


def test_metrics_have_the_documented_keys(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    decoder = metrics["decoder"]
    assert 0.0 <= decoder["state_accuracy"] <= 1.0
    matrix = np.asarray(decoder["confusion"]["matrix"])
    assert matrix.shape == (7, 7)
    # every closed-loop decode lands in the confusion matrix (10 per simulated second)
    assert abs(matrix.sum() - CLOSED_LOOP_S * 10) <= 2
    for hop in (
        "acquire->features",
        "features->decoder",
        "decoder->safety",
        "safety->stimulator",
        "end_to_end",
    ):
        stats = metrics["latency_ms"][hop]
        assert 0 <= stats["p50"] <= stats["p99"] <= stats["max"]
    assert metrics["latency_ms"]["end_to_end"]["p50"] > 0
    stim = metrics["stimulation"]
    assert stim["pulses_delivered"] > 0
    assert stim["commands_vetoed"] >= 0
    gait = metrics["gait"]
    assert set(gait) >= {"steps", "step_length_m", "speed_m_s", "failed_steps"}
    assert 0 <= gait["failed_steps"] <= gait["steps"]


def _demo_error(*args: str) -> str:
    """Run `openbsi demo` with bad arguments; its stderr, after checking it is one clean line."""
    done = subprocess.run(
        [sys.executable, "-m", "openbsi", "demo", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    return done.stderr


def test_bad_seconds_is_one_line_error(tmp_path):
    assert "seconds" in _demo_error("--seconds", "-1", "--out", str(tmp_path))


def test_unwritable_out_is_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert "--out" in _demo_error("--out", str(blocker / "run"))
