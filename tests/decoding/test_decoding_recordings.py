"""Calibration and evaluation on recordings: labels, blocked CV that never trains on a window
overlapping its test block, the shifted-label null, and the CLI on a BIDS-iEEG recording."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from openbsi.cli import app
from openbsi.decoding.labels import labels_for, read_events_tsv
from openbsi.decoding.model_file import load_model
from openbsi.decoding.offline import blocked_folds
from openbsi.inputs import InputError
from openbsi.signals.readers import read_recording

_spec = importlib.util.spec_from_file_location(
    "recording_fixtures", Path(__file__).parents[1] / "signals" / "recording_fixtures.py"
)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
runner = CliRunner()


@pytest.fixture(scope="module")
def bids_vhdr(tmp_path_factory) -> Path:
    return fixtures.write_bids(tmp_path_factory.mktemp("bids"), np.random.default_rng(7), 60.0)


@pytest.mark.parametrize("k", [2, 3, 5, 10])
@pytest.mark.parametrize("window", [1, 10, 25])
def test_blocked_folds_never_train_on_a_window_overlapping_the_test_block(k, window):
    ends = np.arange(window, window + 400 * 3, 3)  # a window every 3 samples
    folds = blocked_folds(ends, window, k)
    tested = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(tested), np.arange(len(ends)))  # every window tested once
    for train, test in folds:
        test_samples = set()
        for j in test:
            test_samples.update(range(ends[j] - window, ends[j]))
        for j in train:
            assert not test_samples.intersection(range(ends[j] - window, ends[j]))
        assert train.size > 0


def test_blocked_folds_refuse_bad_k():
    with pytest.raises(ValueError, match="blocked:K"):
        blocked_folds(np.arange(10, 50), 10, 1)


def test_labels_from_channel_events_and_annotations(bids_vhdr, tmp_path):
    rec = read_recording(bids_vhdr)
    force = labels_for(rec, f"channel:{fixtures.FORCE}")
    _, moving = fixtures.grip_signals(np.random.default_rng(7), 60.0)
    assert force.state_names == ("rest", "move")
    assert np.mean(force.state == moving) > 0.97
    fixed = labels_for(rec, f"channel:{fixtures.FORCE}:0.5")
    assert np.mean(fixed.state == moving) > 0.97
    ann = labels_for(rec, "events:annotations:grip=grasp")
    assert ann.state_names == ("rest", "grasp") and np.mean(ann.state == moving) > 0.99
    tsv = next(bids_vhdr.parent.glob("*_events.tsv"))
    events = labels_for(rec, f"events:{tsv}")
    assert events.state_names == ("rest", "grip")
    assert np.mean(events.state == moving) > 0.99
    bad = tmp_path / "bad.tsv"
    bad.write_text("onset\tduration\n1.0\tnope\n")
    with pytest.raises(InputError, match="line 2"):
        labels_for(rec, f"events:{bad}")
    with pytest.raises(InputError, match="unknown form"):
        labels_for(rec, "force")
    with pytest.raises(InputError, match="single state"):
        labels_for(rec, f"channel:{fixtures.FORCE}:100")


@pytest.mark.slow
def test_cli_evaluate_and_calibrate_on_a_bids_recording(bids_vhdr, tmp_path):
    source = f"replay:{bids_vhdr}"
    args = [
        "decode",
        "evaluate",
        "--source",
        source,
        "--labels",
        f"channel:{fixtures.FORCE}",
        "--cv",
        "blocked:4",
        "--decoders",
        "mslm,bandpower_lda",
        "--null-shifts",
        "5",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["labels"] == f"channel:{fixtures.FORCE}"
    assert out["channels"] == fixtures.ECOG  # not the LFP, not the force channel
    assert out["windows"]["n"] == sum(out["windows"]["per_state"].values())
    assert set(out["windows"]["per_state"]) == {"rest", "move"}
    assert out["line_hz"] == 60.0
    for name in ("mslm", "bandpower_lda"):
        r = out["decoders"][name]
        assert set(r["null"]) == {"balanced_accuracy_p95", "n_shuffles"}
        assert r["null"]["n_shuffles"] == 5
        assert r["balanced_accuracy"] > r["null"]["balanced_accuracy_p95"]
        for key in (
            "state_accuracy",
            "error_blocks_per_min",
            "time_to_switch_s",
            "amplitude_r",
            "steady_state_accuracy",
        ):
            assert key in r
    model_path = tmp_path / "grip.obsi"
    result = runner.invoke(
        app,
        [
            "calibrate",
            "--source",
            source,
            "--labels",
            f"channel:{fixtures.FORCE}",
            "--out",
            str(model_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    model = load_model(model_path)
    assert model.state_names == ("rest", "move")
    assert model.channel_names == tuple(fixtures.ECOG)
    assert model.sfreq_hz == fixtures.SFREQ and model.feature_config.notch_hz == 60.0
    assert model.quality is not None


@pytest.mark.slow
def test_cli_errors_are_one_line(bids_vhdr):
    from openbsi.cli.apps import run

    for args, needle in (
        (["decode", "evaluate", "--source", f"replay:{bids_vhdr}"], "--labels is required"),
        (
            ["decode", "evaluate", "--source", f"replay:{bids_vhdr}", "--labels", "x:y"],
            "unknown form",
        ),
        (
            [
                "decode",
                "evaluate",
                "--source",
                f"replay:{bids_vhdr}",
                "--labels",
                f"channel:{fixtures.FORCE}",
                "--cv",
                "kfold:3",
            ],
            "--cv must be blocked:K",
        ),
        (
            ["decode", "evaluate", "--source", "replay:/nope.edf", "--labels", "channel:A"],
            "does not exist",
        ),
    ):
        import subprocess
        import sys

        proc = subprocess.run(
            [sys.executable, "-m", "openbsi", *args], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 2, proc.stderr
        assert needle in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) <= 3  # one line, wrapped by the console
    assert run  # the CLI's one runner


@settings(max_examples=200, deadline=None)
@given(
    text=st.binary(max_size=400)
    | st.text(alphabet=st.sampled_from(list("onsetduratiyp_ \t\n0123456789.-enaN/,")), max_size=300)
)
def test_fuzz_events_tsv_gives_rows_or_a_clean_refusal(tmp_path_factory, text):
    path = tmp_path_factory.getbasetemp() / "events.tsv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    started = time.perf_counter()
    try:
        rows = read_events_tsv(path)
        assert all(np.isfinite(a) and d >= 0 for a, d, _ in rows)
    except InputError as error:
        assert "\n" not in str(error)
    assert time.perf_counter() - started < 2.0


def test_labels_from_nwb_intervals(tmp_path):
    from datetime import UTC, datetime

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    nwb = NWBFile("labels test", "labels-test", datetime(2020, 1, 1, tzinfo=UTC))
    device = nwb.create_device(name="implant")
    group = nwb.create_electrode_group("grid", "grid", "cortex", device)
    for _ in range(2):
        nwb.add_electrode(group=group, location="cortex")
    region = nwb.create_electrode_table_region([0, 1], "all")
    data = np.random.default_rng(0).normal(0, 10, (2000, 2))
    nwb.add_acquisition(ElectricalSeries(name="ECoG", data=data, electrodes=region, rate=100.0))
    nwb.add_trial_column(name="state", description="cued state")
    nwb.add_trial(start_time=2.0, stop_time=4.0, state="grasp")
    nwb.add_trial(start_time=8.0, stop_time=9.0, state="open")
    with NWBHDF5IO(str(tmp_path / "t.nwb"), "w") as io:
        io.write(nwb)
    rec = read_recording(tmp_path / "t.nwb")
    labels = labels_for(rec, "intervals:trials")
    assert labels.state_names == ("rest", "grasp", "open")
    assert labels.state[250] == 1 and labels.state[850] == 2 and labels.state[500] == 0
    with pytest.raises(InputError, match="unknown table"):
        labels_for(rec, "intervals:epochs")


@settings(max_examples=150, deadline=None)
@given(
    spec=st.text(
        alphabet=st.sampled_from(list("channel:eventsintrvaFORCE_0.5=,grip-9x")), max_size=40
    )
)
def test_fuzz_label_specs_give_labels_or_a_clean_refusal(bids_vhdr, spec):
    rec = _cached_recording(bids_vhdr)
    try:
        labels = labels_for(rec, spec)
        assert labels.state.shape == (rec.data.shape[1],) and len(labels.state_names) >= 2
    except InputError as error:
        assert "\n" not in str(error)


_CACHE: dict = {}


def _cached_recording(path: Path):
    if path not in _CACHE:
        _CACHE[path] = read_recording(path)
    return _CACHE[path]
