"""The three paths' backends: what is delivered, what is refused and why, and the programs."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.runtime.stim_paths import stim_path
from openbsi.safety.supervisor import SafetySupervisor
from openbsi.stimulation.examples import example_program
from openbsi.stimulation.layouts import NodePlacement
from openbsi.stimulation.mapper import Mapper
from openbsi.stimulation.node_network import HarvestModel
from openbsi.stimulation.program import Program, StimStep
from openbsi.stimulation.types import ChannelCommand, StimCommand

PATHS = ("paddle", "nodes", "transcutaneous")


def _drive(kind: str, program: Program, seconds: float, sink, **backend_kw):
    path = stim_path(kind)
    supervisor = SafetySupervisor(path.limits, path.electrodes)
    stimulator = path.make_stimulator(kind, supervisor, sink)
    for key, value in backend_kw.items():
        setattr(stimulator, key, value)
    mapper = Mapper(program, path.electrodes)
    for k in range(round(seconds * 10)):
        now = k * 100_000_000
        stimulator.deliver(mapper.map("left_hip", 1.0, now), now)
        stimulator.run_until(now + 100_000_000)
    return stimulator


@pytest.mark.parametrize("kind", PATHS)
def test_walking_example_is_valid_and_reaches_the_sink(kind: str) -> None:
    path = stim_path(kind)
    program = path.load_program(None)  # validated against the path's limits
    assert program.backend == kind and program.steps("left_hip")
    received: list = []
    stimulator = _drive(kind, program, 4.0, received.extend)
    summary = stimulator.delivery_summary(4.0)
    assert summary["pulses_delivered"] == len(received) > 0
    assert summary["pulses_requested"] - summary["pulses_delivered"] == sum(
        summary["refused"].values()
    )
    assert summary["charge_uc"] > 0
    assert summary["energy_j"] is not None and summary["energy_j"] > 0


def _node_run(placements, harvest: HarvestModel) -> tuple[dict, list, object]:
    from openbsi.stimulation.backends.nodes import NodesStimulator

    path = stim_path("nodes")
    supervisor = SafetySupervisor(path.limits, path.electrodes)
    received: list = []
    stim = NodesStimulator(
        supervisor, path.electrodes, placements=placements, harvest=harvest, sink=received.extend
    )
    # Two nodes at 61 Hz and 43 Hz share the transmitter: their slots collide now and then.
    steps = (StimStep((0,), 1.5, 380.0, 61.0), StimStep((1,), 1.5, 380.0, 43.0))
    mapper = Mapper(Program("strain", "nodes", {"left_hip": steps}), path.electrodes)
    for k in range(50):
        now = k * 100_000_000
        stim.deliver(mapper.map("left_hip", 1.0, now), now)
        stim.run_until(now + 100_000_000)
    return stim.delivery_summary(5.0), received, stim


@pytest.mark.parametrize("weak", [False, True])
def test_every_refused_node_pulse_has_a_reason(weak: bool) -> None:
    path = stim_path("nodes")
    placements = path.placements
    harvest = HarvestModel()
    if weak:  # deep, tilted nodes with a small store cannot sustain 1.5 mA at 60 Hz
        placements = tuple(NodePlacement(p.node_id, 70.0, 60.0, 10.0) for p in placements)
        harvest = HarvestModel(store_capacity_uj=5.0)
    summary, received, stim = _node_run(placements, harvest)
    refused = summary["refused"]
    assert refused.get("energy" if weak else "slot_conflict", 0) > 0
    assert summary["pulses_requested"] == summary["pulses_delivered"] + sum(refused.values())
    assert len(received) == summary["pulses_delivered"] > 0
    assert len(stim.rejections) == sum(refused.values())
    assert all(r.reason in refused and r.detail for r in stim.rejections)
    spent = sum(n["spent_uj"] for n in summary["nodes"])
    harvested = sum(n["harvested_uj"] for n in summary["nodes"])
    store = harvest.store_capacity_uj * len(summary["nodes"])
    assert 0 < spent <= harvested + store + 1e-9  # spent = harvested + what the stores held
    assert 0 < summary["transmitter_duty"] < 1


def test_surface_amplitude_beyond_the_profile_is_refused(tmp_path) -> None:
    from openbsi.stimulation.program import save_program

    path = stim_path("transcutaneous")
    program = Program(
        "too-strong",
        "transcutaneous",
        {"rest": (StimStep((0,), 150.0, 1000.0, 30.0, interphase_gap_us=0.0),)},
    )
    save_program(program, tmp_path / "p.yaml")
    with pytest.raises(ValueError, match="amplitude_ma"):
        path.load_program(tmp_path / "p.yaml")
    # At run time the device's own check refuses a pulse beyond its profile, with a reason.
    supervisor = SafetySupervisor(path.limits, path.electrodes)
    stim = path.make_stimulator("transcutaneous", supervisor, None)
    stim.profile = type(stim.profile)(**{**vars(stim.profile), "max_amplitude_ma": 50.0})
    command = StimCommand(0, 1, "rest", (ChannelCommand(0, 80.0, 1000.0, 30.0, 0.0),))
    for k in range(100):  # past the 5 s session ramp
        now = k * 100_000_000
        stim.deliver(StimCommand(now, k + 1, "rest", command.channels), now)
        stim.run_until(now + 100_000_000)
    summary = stim.delivery_summary(10.0)
    assert summary["refused"].get("device_profile", 0) > 0


def test_examples_are_walking_programs() -> None:
    for kind in PATHS:
        program = example_program(kind)
        periods = {s.period_ms for s in program.steps("left_hip")}
        assert periods == {2000.0}, kind
    assert np.isclose(
        sum(s.amplitude_ma > 0 for s in example_program("transcutaneous").steps("rest")), 1
    )


def test_session_config_takes_each_path_and_validates_its_program(tmp_path) -> None:
    from openbsi.runtime.live_session import LiveSessionConfig
    from openbsi.stimulation.program import save_program

    for kind in PATHS:
        config = LiveSessionConfig(out_dir=tmp_path, seconds=5.0, stimulator=kind)
        assert config.paddle_program.backend == kind
        assert config.stim_path.path == kind
    save_program(example_program("paddle"), tmp_path / "paddle.yaml")
    with pytest.raises(ValueError, match="backend"):
        LiveSessionConfig(
            out_dir=tmp_path, seconds=5.0, stimulator="nodes", program=tmp_path / "paddle.yaml"
        )
    with pytest.raises(ValueError, match="--stimulator"):
        LiveSessionConfig(out_dir=tmp_path, seconds=5.0, stimulator="laser")
