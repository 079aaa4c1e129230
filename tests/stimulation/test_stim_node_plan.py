"""Node-placement planner: beats evenly spaced nodes, stays within each node's harvest."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from openbsi.cli import app
from openbsi.runtime.node_plan import plan_nodes, plan_program
from openbsi.safety.program_check import validate_program
from openbsi.stimulation.layouts import node_layout_at

TARGETS = ("iliopsoas", "vasti", "tibialis_anterior", "gastrocnemius")
runner = CliRunner()


@pytest.mark.parametrize(("n", "depth_mm"), [(6, 30.0), (8, 30.0), (8, 50.0)])
def test_plan_beats_evenly_spaced_nodes(n: int, depth_mm: float) -> None:
    plan = plan_nodes(TARGETS, n, depth_mm=depth_mm)
    assert plan["mean_selectivity"] > plan["baseline_mean_selectivity"]
    assert len(plan["nodes"]) == n
    for node in plan["nodes"]:
        assert node["harvest_uw"] > 0
        assert node["budget_margin"] is not None and 0.0 <= node["budget_margin"] <= 1.0
    served = [v for v in plan["selectivity"].values() if v is not None]
    assert served and all(0.0 < v <= 1.0 for v in served)


def test_deeper_nodes_harvest_less_and_keep_smaller_margins() -> None:
    shallow = plan_nodes(TARGETS, 8, depth_mm=30.0)["nodes"]
    deep = plan_nodes(TARGETS, 8, depth_mm=50.0)["nodes"]
    assert max(n["harvest_uw"] for n in deep) < max(n["harvest_uw"] for n in shallow)
    assert min(n["budget_margin"] for n in deep) < min(n["budget_margin"] for n in shallow)


def test_plan_program_is_valid_for_the_planned_layout() -> None:
    plan = plan_nodes(TARGETS, 8)
    layout = node_layout_at(tuple((n["side"], n["y_mm"], n["root"]) for n in plan["nodes"]))
    program = plan_program(plan)
    assert validate_program(program, backend="nodes", electrodes=layout) == []
    assert program.steps("left_hip")


def test_nodes_plan_cli_json(tmp_path) -> None:
    args = ["nodes", "plan", "--targets", ",".join(TARGETS), "--n", "6", "--json"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "plan")])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) >= {"nodes", "selectivity", "baseline_selectivity"}
    keys = {"id", "root", "y_mm", "depth_mm", "harvest_uw", "budget_margin"}
    assert all(keys <= set(node) for node in payload["nodes"])
    assert (tmp_path / "plan" / "program.yaml").is_file()


@pytest.mark.parametrize("args", [["--n", "5"], ["--targets", "biceps"], ["--depth-mm", "500"]])
def test_nodes_plan_cli_bad_input(tmp_path, args) -> None:
    result = runner.invoke(app, ["nodes", "plan", "--out", str(tmp_path / "p"), *args])
    assert result.exit_code != 0
