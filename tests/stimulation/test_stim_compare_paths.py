"""`openbsi compare paths`: every path steps in closed loop, and nothing unsafe is executed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from openbsi.cli import app

runner = CliRunner()
KEYS = {
    "steps",
    "failed_steps",
    "speed_m_s",
    "step_length_m",
    "selectivity",
    "charge_uc_per_h",
    "energy_j",
    "pulses_requested",
    "pulses_delivered",
    "refused",
    "safety",
}
MUST_BE_ZERO = (
    "executed_stale_commands",
    "executed_replayed_commands",
    "executed_forged_commands",
    "executed_out_of_limit_pulses",
)


@pytest.mark.slow
def test_compare_paths_closed_loop(tmp_path) -> None:
    out = tmp_path / "cmp"
    args = ["compare", "paths", "--out", str(out), "--seconds", "30", "--calibration-s", "90"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    paths = json.loads(result.output)["paths"]
    assert set(paths) == {"paddle", "nodes", "transcutaneous"}
    for name, row in paths.items():
        assert set(row) >= KEYS, name
        assert row["steps"] > 0, name  # each path steps in closed loop (bsi-walker)
        # most of them clear the floor (failed: clearance < 10 cm) and move the body forward
        assert row["failed_steps"] <= row["steps"] / 2, (name, row)
        assert row["speed_m_s"] > 0.02, (name, row)
        assert all(row["safety"][k] == 0 for k in MUST_BE_ZERO), (name, row["safety"])
        refused = sum(row["refused"].values())
        assert row["pulses_requested"] == row["pulses_delivered"] + refused, name
        assert row["charge_uc_per_h"] > 0 and row["energy_j"] > 0
    # less selective from the skin than from the implants
    tc = [v for v in paths["transcutaneous"]["selectivity"].values() if v is not None]
    paddle = [v for v in paths["paddle"]["selectivity"].values() if v is not None]
    assert max(tc) < max(paddle)
    html = (out / "report.html").read_text()
    assert "compare_paths.png" in html and "<table>" in html
    assert (out / "compare_paths.png").stat().st_size > 1000
