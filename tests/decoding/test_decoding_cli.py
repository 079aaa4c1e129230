"""The decode commands: bench decode, calibrate, decode evaluate (tiny sizes)."""

import json

import pytest
from typer.testing import CliRunner

from openbsi.cli import app
from openbsi.decoding.model_file import load_model

runner = CliRunner()


def test_bench_decode_json_keys():
    result = runner.invoke(
        app,
        [
            "bench",
            "decode",
            "--channels",
            "8",
            "--windows",
            "10",
            "--reference-windows",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["channels"]["8"]
    for key in (
        "features_p99_ms",
        "decoder_p99_ms",
        "total_p50_ms",
        "total_p99_ms",
        "reference_total_p99_ms",
        "speedup",
        "max_rel_diff",
    ):
        assert entry[key] >= 0
    assert entry["max_rel_diff"] < 1e-3


def test_calibrate_writes_a_loadable_model(tmp_path):
    pytest.importorskip("openbsi.patient.cortex")
    out = tmp_path / "m.obsi"
    result = runner.invoke(app, ["calibrate", "--out", str(out), "--minutes", "0.75", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    model = load_model(out)
    assert model.n_channels == 64 and model.sfreq_hz == 586.0
    assert summary["minutes"] <= 0.75
    assert model.metadata["validation_accuracy"]
    assert model.quality is not None and len(model.channel_names) == 64


def test_decode_evaluate_rejects_unknown_decoder():
    result = runner.invoke(app, ["decode", "evaluate", "--decoders", "nope"])
    assert result.exit_code != 0
