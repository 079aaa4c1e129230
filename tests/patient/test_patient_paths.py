"""One model of current reaching each dorsal root, for the paddle, the nodes and the skin."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from openbsi.cli import app
from openbsi.patient.intent import IntentBlock, IntentScript
from openbsi.patient.paths import (
    PATHS,
    node_coupling,
    onset_ma,
    path_recruitment_curves,
    root_coupling,
)
from openbsi.patient.session import run_patient
from openbsi.patient.spinal import ROOT_SITES, ROOTS
from openbsi.patient.virtual import VirtualPatient
from openbsi.runtime.stim_paths import stim_path
from openbsi.stimulation.layouts import NodePlacement, node_layout

runner = CliRunner()
PW_US = {"paddle": 300.0, "nodes": 300.0, "transcutaneous": 1000.0}
MAX_MA = {"paddle": 20.0, "nodes": 1.5, "transcutaneous": 120.0}


def _onsets(path_name: str, side: str = "left") -> dict[str, dict[str, float | None]]:
    path = stim_path(path_name)
    amp = np.linspace(0.0, 150.0, 6001)  # the physics, beyond any device limit
    curves = path_recruitment_curves(
        amp,
        root_coupling(path_name, path.electrodes, path.placements),
        path.electrodes,
        side=side,
        pulse_width_us=PW_US[path_name],
    )
    return {r: {f: onset_ma(amp, c[f]) for f in ("Ia", "II", "motor")} for r, c in curves.items()}


@pytest.mark.parametrize("path_name", PATHS)
def test_ia_before_ii_before_motor_on_every_root(path_name: str) -> None:
    for root, onset in _onsets(path_name).items():
        ia, ii, motor = onset["Ia"], onset["II"], onset["motor"]
        assert ia is not None and ii is not None and motor is not None, root
        assert ia < ii < motor, (root, onset)


def test_thresholds_per_path() -> None:
    # Transcutaneous: first root responses at tens of mA, inside the published 25-86 mA
    # (facts.md "Stimulation safety"); the paddle's first responses stay a few mA.
    tc = min(o["Ia"] for o in _onsets("transcutaneous").values())
    paddle = min(o["Ia"] for o in _onsets("paddle").values())
    nodes = min(o["Ia"] for o in _onsets("nodes").values())
    assert 25.0 <= tc <= 86.0
    assert 0.5 <= paddle <= 5.0
    assert nodes <= 1.5  # within the MagNI range (facts.md)


def test_transcutaneous_is_bilateral_and_less_selective() -> None:
    left, right = _onsets("transcutaneous", "left"), _onsets("transcutaneous", "right")
    for root in ROOTS:
        assert left[root]["Ia"] == pytest.approx(right[root]["Ia"], rel=1e-6)
    path = stim_path("transcutaneous")
    c = root_coupling("transcutaneous", path.electrodes).coupling.max(axis=0)
    p = root_coupling("paddle", stim_path("paddle").electrodes).coupling
    # across roots, one surface electrode's coupling varies far less than one paddle contact's
    surface_one = root_coupling("transcutaneous", path.electrodes).coupling[0]
    paddle_one = p[0]
    assert surface_one.min() / surface_one.max() > 5 * paddle_one.min() / paddle_one.max()
    assert c.min() / c.max() > 0.5


def test_node_coupling_follows_gap_and_tilt() -> None:
    layout = node_layout(2)

    def strength(gap: float, tilt: float) -> float:
        placements = tuple(NodePlacement(e.name, 30.0, tilt, 0.0, gap) for e in layout)
        return float(node_coupling(layout, placements)[0].max())

    assert strength(1.0, 0.0) > strength(2.0, 0.0) > strength(3.0, 0.0)
    assert strength(1.0, 0.0) > strength(1.0, 45.0)
    # a node over left L1 reaches left L1 most
    row = node_coupling(layout, None)[0]
    site = ROOT_SITES[int(np.argmax(row))]
    assert (site.side, site.root) == ("left", "L1")


@pytest.mark.parametrize("path_name", PATHS)
def test_no_steps_without_stimulation_on_ais_a(path_name: str) -> None:
    path = stim_path(path_name)
    script = IntentScript(
        tuple(
            IntentBlock(t, t + 5.0, state, 1.0)
            for t, state in zip(
                (0.0, 5.0, 10.0), ("left_hip", "right_hip", "left_hip"), strict=True
            )
        )
    )
    patient = VirtualPatient(
        script,
        np.random.default_rng(0),
        profile="complete-thoracic",
        electrodes=path.electrodes,
        stimulator=path.path,
        placements=path.placements,
    )
    run_patient(patient, 15.0, keep_ecog=False)
    assert patient.gait_summary().steps == 0


@pytest.mark.parametrize("path_name", PATHS)
def test_recruitment_cli_per_stimulator(path_name: str) -> None:
    result = runner.invoke(
        app, ["patient", "recruitment", "--stimulator", path_name, "--points", "301", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["stimulator"] == path_name
    assert set(payload["roots"]) == set(ROOTS)
    some = payload["roots"]["L3"]
    amp = np.array(some["amplitude_ma"])
    assert amp.max() == pytest.approx(MAX_MA[path_name])
    onsets = [onset_ma(amp, np.array(some[f])) for f in ("Ia", "II")]
    assert onsets[0] is not None and (onsets[1] is None or onsets[0] < onsets[1])


def test_recruitment_cli_refuses_unknown_stimulator() -> None:
    result = runner.invoke(app, ["patient", "recruitment", "--stimulator", "laser"])
    assert result.exit_code != 0
