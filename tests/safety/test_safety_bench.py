"""`openbsi bench safety`: small runs, JSON shape, determinism."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from openbsi.bench.safety import BACKENDS, run_safety_bench
from openbsi.cli.apps import app


def test_bench_finds_no_out_of_limit_pulses_and_is_deterministic() -> None:
    backends = ("paddle", "nodes", "transcutaneous", "virtual")
    first = run_safety_bench(60, seed=3, backends=backends)
    again = run_safety_bench(60, seed=3, backends=backends)
    assert first["by_backend"] == again["by_backend"]
    assert first["out_of_limit_pulses"] == 0
    assert first["pulses_checked"] > 100
    for row in first["by_backend"].values():
        assert row["cases"] == 60 and row["commands_vetoed"] > 0


def test_bench_cli_json() -> None:
    result = CliRunner().invoke(
        app, ["bench", "safety", "--cases", "20", "--backend", "paddle", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(data) >= {"cases", "pulses_checked", "out_of_limit_pulses", "by_backend"}
    assert list(data["by_backend"]) == ["paddle"] and data["cases"] == 20
    assert "lsl" in BACKENDS
