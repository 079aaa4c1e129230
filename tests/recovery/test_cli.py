"""`openbsi recovery ...`, `openbsi therapy ...` and `openbsi bench recovery` (JSON shapes)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

EXAMPLES = resources.files("openbsi.recovery") / "examples"
SRC = str(Path(__file__).resolve().parents[2] / "src")


def run(*args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "openbsi", *args], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip


def test_natural_history_json_shape():
    out = run("recovery", "natural-history", "--n", "300", "--months", "12", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"n", "months", "conversion", "by_level", "uems_gain", "lems_gain"} <= set(data)
    assert data["n"] == 300 and data["months"] == 12
    assert {"to_B", "to_C", "to_D", "to_E", "unchanged"} <= set(data["conversion"]["A"])
    assert set(data["by_level"]) == {"tetraplegia", "paraplegia"}
    row = data["conversion"]["C"]
    assert sum(row[k] for k in ("to_A", "to_B", "to_D", "to_E", "unchanged")) == pytest.approx(1)


def test_simulate_json_shape_and_files(tmp_path):
    patient, plan = str(EXAMPLES / "patient.yaml"), str(EXAMPLES / "plan.yaml")
    out = run("recovery", "simulate", "--patient", patient, "--plan", plan, "--weeks", "20",
              "--out", str(tmp_path), "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"assessments", "events", "assumption_share"} <= set(data)
    first = data["assessments"][0]
    assert set(first) == {"week", "ais", "uems", "lems", "tenmwt_m_s", "sixmwt_m", "wisci",
                          "scim", "grassp_strength", "grassp_prehension"}  # fmt: skip
    assert [a["week"] for a in data["assessments"]] == [0, 4, 8, 12, 16, 20]
    assert (tmp_path / "course.json").exists() and (tmp_path / "course.png").stat().st_size > 0


def test_bad_plan_is_one_line_and_json_verdict(tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_text("interventions:\n  - therapy: bsi\n    start_day: -3\n")
    args = ("recovery", "simulate", "--patient", str(EXAMPLES / "patient.yaml"), "--plan",
            str(bad), "--weeks", "4")  # fmt: skip
    out = run(*args)
    assert out.returncode == 2
    assert "interventions[0].start_day" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = run(*args, "--json")
    assert out.returncode == 2
    verdict = json.loads(out.stdout)
    assert verdict["ok"] is False and "start_day" in verdict["error"]


def test_therapy_list_and_show():
    out = run("therapy", "list", "--json")
    names = [t["name"] for t in json.loads(out.stdout)["therapies"]]
    assert "ipsc_progenitors" in names and "bsi" in names
    out = run("therapy", "show", "injectable_depot", "--json")
    data = json.loads(out.stdout)
    grades = {p["grade"] for p in data["parameters"]}
    assert "assumption" in grades and "animal" in grades
    assert all(p["source"] for p in data["parameters"])
    out = run("therapy", "show", "injectable_depot")
    assert "release_half_life_days" in out.stderr and "grade animal" in out.stderr
    out = run("therapy", "show", "nope")
    assert out.returncode == 2 and "unknown therapy" in out.stderr


def test_bench_recovery_json_small():
    out = run("bench", "recovery", "--n", "200", "--repeats", "2", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["cohort"]["n"] == 200 and data["cohort"]["seconds"] > 0
    assert len(data["load_average_1_5_15"]) == 3
    assert data["single_course_52_weeks"]["natural_history"]["median_ms"] > 0
