"""`openbsi program example|validate|show`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import openbsi.cli.program  # noqa: F401  (registers the commands)
from openbsi.cli.apps import app

runner = CliRunner()


@pytest.mark.parametrize("backend", ["paddle", "nodes", "transcutaneous"])
def test_example_validates(tmp_path, backend: str) -> None:
    result = runner.invoke(app, ["program", "example", "--backend", backend])
    assert result.exit_code == 0
    path = tmp_path / f"{backend}.yaml"
    path.write_text(result.stdout)
    assert result.stdout.startswith("# OpenBSI stimulation program")
    checked = runner.invoke(app, ["program", "validate", str(path), "--backend", backend, "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout) == {"valid": True, "violations": []}


def test_validate_lists_violations_and_exits_1(tmp_path) -> None:
    text = runner.invoke(app, ["program", "example"]).stdout
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("pulse_width_us: 300.0", "pulse_width_us: 900.0", 1))
    result = runner.invoke(app, ["program", "validate", str(path), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert data["violations"][0]["field"] == "states.rest[0].pulse_width_us"
    assert data["violations"][0]["limit"] == 450.0
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nbackend: paddle\nstates: {rest: [{electrodes: [1]}]}\n")
    result = runner.invoke(app, ["program", "validate", str(broken), "--json"])
    assert result.exit_code == 1
    assert "amplitude_ma" in json.loads(result.stdout)["violations"][0]["message"]


def test_show_writes_a_picture(tmp_path) -> None:
    path = tmp_path / "nodes.yaml"
    path.write_text(runner.invoke(app, ["program", "example", "--backend", "nodes"]).stdout)
    png = tmp_path / "map.png"
    result = runner.invoke(app, ["program", "show", str(path), "--out", str(png), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["backend"] == "nodes" and set(summary["states"]) >= {"rest", "left_hip"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
