"""`openbsi trial ...`: examples, validate, run (Up-LIFT report), power, errors in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from openbsi.trials.examples import EXAMPLES


def _subprocess(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real entry point (its error handling included)."""
    return subprocess.run(
        [sys.executable, "-m", "openbsi", *args], capture_output=True, text=True, timeout=timeout
    )


def _cli(*args: str):
    """In process (fast): result.returncode / stdout like a CompletedProcess."""
    from typer.testing import CliRunner

    from openbsi.cli import app

    result = CliRunner().invoke(app, list(args))
    result.returncode = result.exit_code
    return result


def test_example_then_validate(tmp_path) -> None:
    for design in EXAMPLES:
        out = _cli("trial", "example", "--design", design)
        assert out.returncode == 0, out.stderr
        path = tmp_path / f"{design}.yaml"
        path.write_text(out.stdout)
        check = _cli("trial", "validate", str(path), "--json")
        assert check.returncode == 0, check.stderr
        assert json.loads(check.stdout)["valid"] is True


@pytest.mark.slow
def test_validate_refuses_unknown_therapy_in_one_line(tmp_path) -> None:
    text = _cli("trial", "example", "--design", "uplift").stdout
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("therapy: transcutaneous_cervical", "therapy: telepathy"))
    out = _subprocess("trial", "validate", str(path), "--json")
    assert out.returncode == 2
    verdict = json.loads(out.stdout)
    assert verdict["valid"] is False and "arms[0].interventions[1].therapy" in verdict["error"]
    assert "Traceback" not in out.stderr
    run = _cli("trial", "run", str(path), "--out", str(tmp_path / "r"), "--json")
    assert run.returncode == 2 and json.loads(run.stdout)["ok"] is False


@pytest.mark.slow
def test_uplift_runs_to_a_report(tmp_path, small) -> None:
    text = _cli("trial", "example", "--design", "uplift").stdout
    path = tmp_path / "uplift.yaml"
    path.write_text(text)
    out_dir = tmp_path / "run"
    out = _cli(
        "trial",
        "run",
        str(path),
        "--out",
        str(out_dir),
        "--json",
        "--power-n",
        "20,40",
        "--power-trials",
        "4",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout)
    import hashlib

    assert summary["protocol_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (out_dir / "protocol.sha256").read_text().startswith(summary["protocol_sha256"])
    arm = summary["arms"]["uplift"]
    for endpoint in ("strength", "function", "both"):
        block = arm["responders"][endpoint]
        assert block["n"] > 0 and 0 <= block["ci95"][0] <= block["rate"] <= block["ci95"][1] <= 1
    assert "patients_with_serious_event" in summary["safety"]["uplift"]
    assert json.loads((out_dir / "summary.json").read_text())["arms"] == summary["arms"]
    html = (out_dir / "report.html").read_text()
    for needle in (
        "Credibility dossier",
        "Context of use",
        "Validation evidence",
        "CONSORT",
        "tornado",
        "Power by simulation",
        summary["protocol_sha256"],
    ):
        assert needle in html
    import pyarrow.parquet as pq

    table = pq.read_table(out_dir / "results.parquet")
    assert table.schema.metadata[b"protocol_sha256"].decode() == summary["protocol_sha256"]


@pytest.mark.slow
def test_power_json_shape(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(_cli("trial", "example", "--design", "uplift").stdout)
    out = _cli("trial", "power", str(path), "--n", "10,30", "--trials", "5", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["n"] == [10, 30] and len(result["power"]) == 2
    assert all(0 <= p <= 1 for p in result["power"])
    bad = _cli("trial", "power", str(path), "--n", "10,x", "--json")
    assert bad.returncode == 2 and "--n" in json.loads(bad.stdout)["error"]
