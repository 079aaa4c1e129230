"""Node-placement planner: beats evenly spaced nodes, stays within each node's harvest."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from openbsi.cli import app
from openbsi.inputs import InputError
from openbsi.runtime.node_plan import plan_nodes, plan_program
from openbsi.runtime.stim_paths import stim_path
from openbsi.safety.program_check import validate_program
from openbsi.stimulation.layouts import node_layout_at, sited_layout
from openbsi.stimulation.program import load_program, save_program

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


@pytest.mark.slow
def test_plan_program_runs_in_a_session_on_the_planned_nodes(tmp_path) -> None:
    # nodes plan --out, then session --stimulator nodes --program THAT: the session drives the
    # planned nodes (their IDs, positions and harvest), not the default six.
    plan_dir = tmp_path / "plan"
    planned = runner.invoke(app, ["nodes", "plan", "--n", "8", "--out", str(plan_dir), "--json"])
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.output)
    run = tmp_path / "run"
    args = ["session", "--stimulator", "nodes", "--program", plan["program"], "--fast"]
    args += ["--seconds", "4", "--calibration-s", "30", "--body", "reduced", "--out", str(run)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    stim = metrics["stimulator"]
    assert [n["id"] for n in stim["nodes"]] == [n["id"] for n in plan["nodes"]]
    for ran, node in zip(stim["nodes"], plan["nodes"], strict=True):
        assert (ran["root"], ran["side"]) == (node["root"], node["side"])
        assert ran["harvest_uw"] == pytest.approx(node["harvest_uw"], rel=1e-9)
    assert stim["pulses_delivered"] > 0
    assert stim["pulses_requested"] == stim["pulses_delivered"] + sum(stim["refused"].values())


def test_program_file_carries_the_planned_layout(tmp_path) -> None:
    program = plan_program(plan_nodes(TARGETS, 8))
    path = tmp_path / "plan.yaml"
    save_program(program, path)
    again = load_program(path)
    assert again == program and len(again.node_sites) == 8
    electrodes, placements = sited_layout(again.node_sites)
    assert [e.name for e in electrodes] == [p.node_id for p in placements]
    assert validate_program(again, backend="nodes", electrodes=electrodes) == []
    # without a layout given, the validator (program validate, the web editor's check) uses
    # the one the program carries: 8 planned nodes, where the default network has 6
    assert validate_program(again, backend="nodes") == []
    # a paddle session refuses it, naming the backend
    with pytest.raises(ValueError, match="backend"):
        stim_path("paddle", path).load_program(path)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda s: s.replace("side: left", "side: up", 1), "layout[0].side"),
        (lambda s: s.replace("depth_mm: 30.0", "depth_mm: 900.0", 1), "layout[0].depth_mm"),
        (lambda s: s.replace("backend: nodes", "backend: paddle"), "layout"),
    ],
)
def test_bad_planned_layouts_are_named(tmp_path, edit, field) -> None:
    path = tmp_path / "plan.yaml"
    save_program(plan_program(plan_nodes(TARGETS, 6)), path)
    path.write_text(edit(path.read_text()))
    with pytest.raises(InputError, match=re.escape(field)):
        load_program(path)


def test_duplicate_node_ids_are_refused(tmp_path) -> None:
    path = tmp_path / "plan.yaml"
    save_program(plan_program(plan_nodes(TARGETS, 6)), path)
    text = path.read_text()
    ids = re.findall(r"id: '(0x[0-9a-f]+)'", text)
    path.write_text(text.replace(ids[1], ids[0]))
    with pytest.raises(InputError, match="unique"):
        load_program(path)
