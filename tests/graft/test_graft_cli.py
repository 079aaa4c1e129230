"""`openbsi graft ...`: JSON shapes of the issue, one-line refusals, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from openbsi.cli import app
from openbsi.graft.demo_lot import write_demo_lot

from .conftest import abf_path, fcsparser_files

runner = CliRunner()


def test_ephys_json_current_clamp(tmp_path: Path) -> None:
    path = abf_path("18711001.abf")
    result = runner.invoke(app, ["graft", "ephys", str(path), "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["protocol"] == "current_clamp_steps"
    for key in (
        "sweeps",
        "rheobase_pa",
        "first_ap",
        "resting_potential_mv",
        "input_resistance_mohm",
        "tau_ms",
        "max_rate_hz",
    ):
        assert key in out
    assert set(out["sweeps"][0]) >= {"sweep", "step_pa", "spikes"}
    assert set(out["first_ap"]) >= {
        "threshold_mv",
        "amplitude_mv",
        "peak_mv",
        "half_width_ms",
        "ahp_mv",
    }
    assert Path(out["figure"]).is_file()


def test_ephys_json_voltage_clamp() -> None:
    result = runner.invoke(
        app, ["graft", "ephys", str(abf_path("17o05024_vc_steps.abf")), "--json"]
    )
    out = json.loads(result.stdout)
    assert out["protocol"] == "voltage_clamp_steps"
    assert set(out["iv"][0]) >= {"step_mv", "inward_peak_pa", "outward_steady_pa"}
    assert out["na_present"] is False and out["k_present"] is False


def test_bad_files_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.abf"
    bad.write_bytes(b"ABF2" + bytes(300))
    result = runner.invoke(app, ["graft", "ephys", str(bad), "--json"])
    assert result.exit_code == 2
    out = json.loads(result.stdout)
    assert out["ok"] is False and str(bad) in out["error"]


@pytest.mark.slow
def test_no_traceback_from_the_real_command(tmp_path: Path) -> None:
    bad = tmp_path / "bad.fcs"
    bad.write_bytes(b"FCS3.0    " + b"x" * 100)
    panel = tmp_path / "panel.yaml"
    panel.write_text("panel: p\nversion: '1'\nscatter: {fsc_area: A, ssc_area: B}\nmarkers: []\n")
    done = subprocess.run(
        [sys.executable, "-m", "openbsi", "graft", "flow", str(bad), "--panel", str(panel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert str(bad) in done.stderr


def test_flow_json_on_a_real_fcs_file(tmp_path: Path) -> None:
    files = [p for p in fcsparser_files() if p.name.startswith("FCS_3.0_Fortessa")]
    if not files:
        pytest.skip("fcsparser is not installed")
    real = files[0]
    panel = tmp_path / "panel.yaml"
    panel.write_text(
        "panel: beads\nversion: '1'\n"
        "scatter: {fsc_area: FSC-A, ssc_area: SSC-A, fsc_height: FSC-H}\n"
        f"controls: {{self: '{real}'}}\n"
        "markers: [{name: FITC, channel: FITC-A, control: self, percentile: 99}]\n"
    )
    result = runner.invoke(app, ["graft", "flow", str(real), "--panel", str(panel), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["compensated"] is True and out["gates"]["total"] == 11585
    row = out["markers"][0]
    # its own control at p99: about 1 % above threshold (ties allowed)
    assert row["fraction"] == pytest.approx(0.01, abs=0.005)


@pytest.mark.slow
def test_release_json(tmp_path: Path) -> None:
    lot = write_demo_lot(tmp_path / "lot", rng=np.random.default_rng(3), harvest_day=13)
    result = runner.invoke(
        app,
        [
            "graft",
            "release",
            str(lot),
            "--out",
            str(tmp_path / "out"),
            "--reviewer",
            "C. Reviewer",
            "--json",
        ],
    )
    assert result.exit_code == 1  # rejected
    out = json.loads(result.stdout)
    assert out["verdict"] == "reject" and out["failed"] == ["harvest_day"]
    assert out["spec_version"] == "1.0.0" and out["lot"] == "LOT-DEMO-001"
    row = out["criteria"][0]
    assert set(row) >= {"name", "value", "limit", "pass", "evidence"}
    assert row["evidence"][0]["sha256"] and row["evidence"][0]["file"].endswith("lot.yaml")
    assert out["potency"] is None


def test_release_of_an_unreadable_manifest_is_a_reject_verdict(tmp_path: Path) -> None:
    lot = tmp_path / "lot.yaml"
    lot.write_text("lot: L\nlot: M\n")  # duplicate key
    result = runner.invoke(
        app,
        ["graft", "release", str(lot), "--out", str(tmp_path / "o"), "--reviewer", "R", "--json"],
    )
    assert result.exit_code == 2
    out = json.loads(result.stdout)
    assert out["verdict"] == "reject" and out["ok"] is False and "lot" in out["error"]


@pytest.mark.slow
def test_trend_cli_over_lots(tmp_path: Path) -> None:
    import shutil

    import yaml

    base = write_demo_lot(tmp_path / "base", rng=np.random.default_rng(4), n_events=10_000)
    paths = []
    for k, endotoxin in enumerate([0.5, 0.6, 0.7, 0.8, 0.9, 1.0]):
        folder = tmp_path / f"lot{k}"
        shutil.copytree(base.parent, folder)
        manifest = yaml.safe_load((folder / "lot.yaml").read_text())
        manifest["lot"] = f"L{k}"
        next(a for a in manifest["assays"] if a["kind"] == "endotoxin")["eu_per_ml"] = endotoxin
        (folder / "lot.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
        paths.append(str(folder / "lot.yaml"))
    result = runner.invoke(app, ["graft", "trend", *paths, "--json", "--out", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["lots"] == [f"L{k}" for k in range(6)]
    assert out["out_of_trend"] == ["L5"]  # six rising endotoxin values
    assert out["attributes"]["endotoxin"]["mean"] == pytest.approx(0.75)
    assert Path(out["figure"]).is_file()


@pytest.mark.slow
def test_bench_graft_json() -> None:
    result = runner.invoke(app, ["bench", "graft", "--json", "--repeats", "1"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out["cases"]) == {"model_vc_step.abf", "18711001.abf", "fcs_100k"}
    fcs = out["cases"]["fcs_100k"]
    assert fcs["bar_s"] == 1.0 and fcs["median_s"] > 0 and isinstance(fcs["pass"], bool)
    assert len(out["load_average"]) == 3 and out["cpus"] >= 1


@pytest.mark.slow
def test_example_writes_a_lot(tmp_path: Path) -> None:
    result = runner.invoke(app, ["graft", "example", "--out", str(tmp_path), "--seed", "2"])
    assert result.exit_code == 0, result.output
    for name in ("lot.yaml", "lot.fcs", "isotype.fcs", "panel.yaml", "cell1_vc.nwb", "qpcr.csv"):
        assert (tmp_path / name).is_file()
