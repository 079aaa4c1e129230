import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openbsi.cli import app
from openbsi.stimulation.program import default_paddle_program, save_program

runner = CliRunner()


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_profiles_json_lists_default() -> None:
    out = _json(["patient", "profiles", "--json"])
    names = [p["name"] for p in out["profiles"]]
    assert out["default"] in names
    assert {"A", "C"} <= {p["ais"] for p in out["profiles"]}


def test_recruitment_json_shape_and_order() -> None:
    out = _json(["patient", "recruitment", "--json", "--points", "61"])
    assert set(out["roots"]) == {"L1", "L2", "L3", "L4", "L5", "S1", "S2"}
    for curves in out["roots"].values():
        assert len(curves["amplitude_ma"]) == len(curves["Ia"]) == 61
        assert all(0.0 <= v <= 1.0 for v in curves["motor"])
        ia, ii = curves["Ia"], curves["II"]
        assert all(a >= b for a, b in zip(ia, ii, strict=True))


def test_simulate_writes_nwb_with_intent_and_kinematics(tmp_path: Path) -> None:
    pynwb = pytest.importorskip("pynwb")
    program = tmp_path / "program.yaml"
    save_program(default_paddle_program(), program)
    out = tmp_path / "sim.nwb"
    summary = _json(
        [
            "patient",
            "simulate",
            "--seconds",
            "8",
            "--program",
            str(program),
            "--profile",
            "complete-thoracic",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert out.exists() and summary["pulses"] > 0
    with pynwb.NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        states = list(nwb.intervals["intent"]["state"][:])
        assert states[0] == "rest"
        assert "left_hip_rad" in nwb.processing["kinematics"].data_interfaces
        assert "emg_left_iliopsoas" in nwb.processing["kinematics"].data_interfaces


def test_bench_patient_json() -> None:
    out = _json(["bench", "patient", "--seconds", "5", "--json"])
    assert out["simulated_s"] == pytest.approx(5.0)
    assert out["realtime_factor"] == pytest.approx(out["simulated_s"] / out["wall_s"], rel=0.01)
    assert {p["name"] for p in out["parts"]} >= {"cortex", "spinal_body"}


def test_bad_profile_is_a_clear_error() -> None:
    result = runner.invoke(app, ["patient", "recruitment", "--profile", "nobody"])
    assert result.exit_code != 0
    assert "profile must be one of" in str(result.exception) + result.output
