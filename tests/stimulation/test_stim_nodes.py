"""Magnetoelectric nodes: harvesting, the shared-transmitter scheduler, the backend."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.safety import SafetyLimits, SafetySupervisor
from openbsi.safety.audit import count_out_of_limit
from openbsi.stimulation.backends import create_stimulator
from openbsi.stimulation.layouts import NodePlacement, node_layout, node_placements
from openbsi.stimulation.node_network import HarvestModel, NodeScheduler
from openbsi.stimulation.profiles import NODES_PROFILE
from openbsi.stimulation.types import ChannelCommand, Pulse, StimCommand

MS = 1_000_000


def _placements(layout, depth_mm=25.0, tilt=0.0):
    return tuple(NodePlacement(e.name, depth_mm, tilt, 0.0) for e in layout)


def test_layout_ids_are_unique_and_reproducible() -> None:
    a = node_layout(8, np.random.default_rng(1))
    b = node_layout(8, np.random.default_rng(1))
    assert [e.name for e in a] == [e.name for e in b]
    assert len({e.name for e in a}) == 8
    with pytest.raises(ValueError, match="n must be"):
        node_layout(0)


def test_harvest_falls_with_depth_and_misalignment() -> None:
    model = HarvestModel()
    shallow = model.harvested_power_uw(NodePlacement("a", 20.0, 0.0, 0.0))
    deep = model.harvested_power_uw(NodePlacement("a", 50.0, 0.0, 0.0))
    tilted = model.harvested_power_uw(NodePlacement("a", 20.0, 60.0, 0.0))
    offset = model.harvested_power_uw(NodePlacement("a", 20.0, 0.0, 15.0))
    assert shallow > tilted > 0 and shallow > deep and shallow > offset
    ref = model.harvested_power_uw(NodePlacement("a", 30.0, 0.0, 0.0))
    assert ref == pytest.approx(model.reference_power_uw - model.chip_power_uw)
    assert model.pulse_energy_uj(1.5, 512.0) > model.pulse_energy_uj(0.5, 100.0)


def test_scheduler_reports_every_reason() -> None:
    layout = node_layout(3)
    placements = (*_placements(layout[:2]), NodePlacement(layout[2].name, 90.0, 80.0, 30.0))
    scheduler = NodeScheduler(layout, placements, slot_us=100.0)
    pulses = [
        Pulse(0, 0, 1.0, 200.0),  # placed in node 0's slot
        Pulse(0, 1, 1.0, 200.0),  # placed in node 1's slot (offset 100 us)
        Pulse(100_000, 0, 1.0, 200.0),  # node 0 at +100 us: node 1's slot is busy
        Pulse(MS, 7, 1.0, 200.0),  # no such node
        Pulse(2 * MS, 1, 3.0, 200.0),  # beyond 1.5 mA
    ]
    # Node 2 is deep and tilted: it drains its store and cannot refill in time.
    pulses += [Pulse(3 * MS + k * 5 * MS, 2, 1.5, 512.0) for k in range(40)]
    placed, rejected = scheduler.place(pulses, 300 * MS)
    reasons = {r.reason for r in rejected}
    assert reasons == {"slot_conflict", "unknown_node", "out_of_range", "energy"}
    assert [p.t_ns for p in placed[:2]] == [0, 100_000]
    assert all(r.node_id for r in rejected)
    assert scheduler.rejected_by_reason["energy"] == sum(r.reason == "energy" for r in rejected)
    assert scheduler.energy_at(2, 300 * MS) < scheduler.harvest.store_capacity_uj


def test_fixed_slot_offsets_keep_each_node_periodic() -> None:
    layout = node_layout(6)
    sup = SafetySupervisor(
        SafetyLimits.from_profile(NODES_PROFILE, max_ramp_up_ma_per_s=1e6), layout
    )
    stim = create_stimulator(
        "nodes", supervisor=sup, electrodes=layout, placements=_placements(layout)
    )
    channels = tuple(ChannelCommand(e.index, 1.0, 200.0, 50.0) for e in layout)
    pulses = []
    for k in range(5):
        stim.deliver(StimCommand(k * 100 * MS, k + 1, "rest", channels), k * 100 * MS)
        pulses += stim.run_until((k + 1) * 100 * MS)
    assert stim.pulses_blocked == 0 and stim.pulses_unscheduled == 0
    first = min(p.t_ns for p in pulses if p.electrode == 0)
    for e in range(6):
        times = np.array([p.t_ns for p in pulses if p.electrode == e])
        assert len(times) >= 24
        assert np.all(np.diff(times) == 20 * MS)
        assert times[0] - first == e * 100_000  # node e's slot in the transmitter frame
    assert count_out_of_limit(pulses, sup.limits, layout) == 0
    assert {node for node, _ in stim.emitted} == {e.name for e in layout}


def test_starved_network_emits_fewer_pulses_and_says_why() -> None:
    layout = node_layout(6)
    sup = SafetySupervisor(
        SafetyLimits.from_profile(NODES_PROFILE, max_ramp_up_ma_per_s=1e6), layout
    )
    deep = tuple(NodePlacement(e.name, 70.0, 50.0, 12.0) for e in layout)
    stim = create_stimulator("nodes", supervisor=sup, electrodes=layout, placements=deep)
    channels = tuple(ChannelCommand(e.index, 1.5, 500.0, 150.0) for e in layout)
    for k in range(3):
        stim.deliver(StimCommand(k * 100 * MS, k + 1, "rest", channels), k * 100 * MS)
        stim.run_until((k + 1) * 100 * MS)
    assert stim.scheduler.rejected_by_reason["energy"] > 0
    assert stim.rejections[-1].reason == "energy"


def test_random_placements_are_in_range() -> None:
    layout = node_layout(6)
    placements = node_placements(layout, np.random.default_rng(3), depth_range_mm=(20.0, 60.0))
    assert all(20.0 <= p.depth_mm <= 60.0 for p in placements)
    with pytest.raises(ValueError, match="depth_range_mm"):
        node_placements(layout, depth_range_mm=(50.0, 10.0))


def test_node_status_reports_energy_drawn_by_pulses() -> None:
    layout = node_layout(6)
    sup = SafetySupervisor(
        SafetyLimits.from_profile(NODES_PROFILE, max_ramp_up_ma_per_s=1e6), layout
    )
    stim = create_stimulator(
        "nodes",
        supervisor=sup,
        electrodes=layout,
        placements=_placements(layout, depth_mm=55.0, tilt=30.0),
    )
    full = stim.scheduler.harvest.store_capacity_uj
    assert [s.energy_uj for s in stim.node_status(0)] == [full] * 6
    stim.deliver(StimCommand(0, 1, "rest", (ChannelCommand(2, 1.5, 500.0, 200.0),)), 0)
    stim.run_until(20 * MS)
    status = stim.node_status(20 * MS)
    assert status[2].energy_uj < full  # node 2 pays more per pulse than it harvests
    assert status[0].energy_uj == full and status[2].node_id == layout[2].name
    assert status[2].harvested_power_uw < stim.scheduler.harvest.reference_power_uw


def test_a_slot_offset_never_carries_a_pulse_past_the_watchdog_deadline() -> None:
    """Node 5 fires 0.5 ms after its nominal time (its transmitter slot). Its 50 Hz train is
    due at 5, 25, ..., 305 ms; the watchdog's ramp reaches zero at 305.45 ms, so the last pulse
    (still 0.07 mA, above the 0.05 mA minimum) would land 0.05 ms after it: the supervisor's
    per-pulse gate refuses it."""
    layout = node_layout(6)
    age_ms, ramp_ms = 295.45, 10.0
    limits = SafetyLimits.from_profile(
        NODES_PROFILE, watchdog_age_ms=age_ms, ramp_down_ms=ramp_ms, max_ramp_up_ma_per_s=1e6
    )
    supervisor = SafetySupervisor(limits, layout)
    stim = create_stimulator(
        "nodes",
        supervisor=supervisor,
        electrodes=layout,
        placements=_placements(layout, depth_mm=5.0),
    )
    stim.deliver(StimCommand(0, 1, "rest", (ChannelCommand(5, 1.5, 100.0, 50.0),)), 0)
    pulses = []
    for t in range(10 * MS, 400 * MS, 10 * MS):
        pulses += stim.run_until(t)
    deadline_ns = int((age_ms + ramp_ms) * MS)
    assert supervisor.silent_from_ns() == deadline_ns
    assert [p.t_ns for p in pulses] == [(5 + 20 * k) * MS + 500_000 for k in range(15)]
    assert all(p.t_ns < deadline_ns for p in pulses)
    assert stim.pulses_blocked == 1  # the pulse due at 305 ms, slotted to 305.5 ms
