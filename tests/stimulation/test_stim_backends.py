"""Backends: registry, supervisor injection, pulse timing and the per-pulse gate."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.safety import SafetyLimits, SafetySupervisor
from openbsi.safety.audit import count_out_of_limit
from openbsi.stimulation.backends import Stimulator, backend_names, create_stimulator
from openbsi.stimulation.backends.paddle import PaddleStimulator
from openbsi.stimulation.backends.virtual import VirtualStimulator
from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.mapper import Mapper
from openbsi.stimulation.program import default_paddle_program
from openbsi.stimulation.types import ChannelCommand, Pulse, StimCommand

MS = 1_000_000


def _supervisor(**kw) -> SafetySupervisor:
    return SafetySupervisor(SafetyLimits(**kw), PADDLE_16)


def test_registry_creates_known_backends_and_lists_names_on_error() -> None:
    assert {"virtual", "paddle"} <= set(backend_names())
    stim = create_stimulator("paddle", supervisor=_supervisor(), electrodes=PADDLE_16)
    assert isinstance(stim, PaddleStimulator) and stim.name == "paddle"
    with pytest.raises(ValueError, match="virtual"):
        create_stimulator("laser", supervisor=_supervisor(), electrodes=PADDLE_16)


def test_a_supervisor_is_required() -> None:
    with pytest.raises(TypeError):
        VirtualStimulator(electrodes=PADDLE_16)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="supervisor"):
        VirtualStimulator(None, PADDLE_16)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="supervisor"):
        PaddleStimulator(object(), PADDLE_16)  # type: ignore[arg-type]


def test_pulse_phase_is_continuous_across_calls() -> None:
    got: list[Pulse] = []
    stim = VirtualStimulator(_supervisor(max_ramp_up_ma_per_s=1e6), PADDLE_16, sink=got.extend)
    channel = ChannelCommand(3, 4.0, 300.0, 33.0)
    for k in range(10):
        now = k * 100 * MS
        stim.deliver(StimCommand(now, k + 1, "left_knee", (channel,)), now)
        stim.run_until(now + 100 * MS)
    times = np.array([p.t_ns for p in got])
    assert len(got) == stim.pulses_delivered
    assert len(got) in (33, 34)
    period = 1e9 / 33.0
    assert np.all(np.abs(np.diff(times) - period) <= 1.0)
    assert stim.pulses_blocked == 0


def test_an_absolute_clock_hours_into_uptime_costs_no_replay_of_the_past() -> None:
    """The implant process runs on time.monotonic_ns(): with its clock start given, a first
    run_until hours after 0 does not step through those hours (it once took seconds there and
    made every command go stale)."""
    supervisor = _supervisor(max_ramp_up_ma_per_s=1e6)
    calls = {"output": 0}
    real_output = supervisor.output

    def counted(now_ns: int):
        calls["output"] += 1
        return real_output(now_ns)

    supervisor.output = counted  # type: ignore[method-assign]
    got: list[Pulse] = []
    uptime_ns = 5 * 3600 * 10**9
    stim = VirtualStimulator(supervisor, PADDLE_16, sink=got.extend, clock_start_ns=uptime_ns)
    assert stim.run_until(uptime_ns) == [] and stim.clock_ns == uptime_ns
    assert calls["output"] < 10
    channel = ChannelCommand(3, 4.0, 300.0, 40.0)
    stim.deliver(StimCommand(uptime_ns, 1, "left_knee", (channel,)), uptime_ns)
    stim.run_until(uptime_ns + 100 * MS)
    assert len(got) in (4, 5) and all(p.t_ns >= uptime_ns for p in got)
    assert calls["output"] < 100


def test_default_program_session_stays_in_limits_and_stops_when_stale() -> None:
    sup = _supervisor()
    stim = PaddleStimulator(sup, PADDLE_16)
    mapper = Mapper(default_paddle_program(), PADDLE_16)
    states = ["rest"] * 5 + ["left_hip"] * 8 + ["left_knee"] * 5 + ["right_ankle"] * 5
    for k, state in enumerate(states):
        now = k * 100 * MS
        stim.deliver(mapper.map(state, 0.6, now), now)
        stim.run_until(now + 100 * MS)
    last_command = (len(states) - 1) * 100 * MS
    for k in range(len(states), len(states) + 8):  # decoder went silent
        stim.run_until((k + 1) * 100 * MS)
    pulses = list(stim.emitted)
    assert pulses and count_out_of_limit(pulses, sup.limits, PADDLE_16) == 0
    deadline = last_command + (250 + 200) * MS
    assert max(p.t_ns for p in pulses) < deadline
    assert {p.electrode for p in pulses} >= {0, 1, 2, 15}


class _RogueSupervisor:
    """Returns out-of-limit setpoints but has a real per-pulse gate."""

    def __init__(self) -> None:
        self.inner = _supervisor()

    def check(self, command, now_ns):
        return self.inner.check(command, now_ns)

    def output(self, now_ns):
        return (ChannelCommand(1, 50.0, 300.0, 40.0), ChannelCommand(2, 3.0, 300.0, 40.0))

    def pulse_ok(self, pulse):
        return self.inner.pulse_ok(pulse)

    def emergency_stop(self, now_ns):
        self.inner.emergency_stop(now_ns)


def test_pulses_failing_the_gate_are_dropped_and_counted() -> None:
    stim = PaddleStimulator(_RogueSupervisor(), PADDLE_16)
    pulses = stim.run_until(100 * MS)
    assert pulses and all(p.electrode == 2 for p in pulses)
    assert stim.pulses_blocked == 4 and stim.pulses_delivered == 4


def test_emergency_stop_ends_emission() -> None:
    stim = PaddleStimulator(_supervisor(max_ramp_up_ma_per_s=1e6), PADDLE_16)
    stim.deliver(StimCommand(0, 1, "rest", (ChannelCommand(1, 2.0, 200.0, 40.0),)), 0)
    assert stim.run_until(100 * MS)
    stim.emergency_stop(100 * MS)
    assert stim.run_until(200 * MS) == []
    assert not isinstance(stim, type) and isinstance(stim, Stimulator)


def test_supervisor_looser_than_the_hardware_is_refused() -> None:
    from openbsi.stimulation.backends.nodes import NodesStimulator
    from openbsi.stimulation.layouts import node_layout

    layout = node_layout(6)
    paddle_limits = SafetySupervisor(SafetyLimits(), layout)  # 12.7 mA > the nodes' 1.5 mA
    with pytest.raises(ValueError, match="max_amplitude_ma"):
        NodesStimulator(paddle_limits, layout)


def test_pulses_are_never_backdated() -> None:
    import numpy as np

    stim = PaddleStimulator(_supervisor(max_ramp_up_ma_per_s=1e6), PADDLE_16)
    channel = ChannelCommand(1, 2.0, 200.0, 40.0)
    start = np.int64(180_000 * MS)  # first command long after the session began
    stim.deliver(StimCommand(int(start), 1, "rest", (channel,)), start)
    first = stim.run_until(int(start) + 100 * MS)
    assert first and min(p.t_ns for p in first) >= start
    # The loop skipped run_until for 2 s: that span is not emitted late.
    later = int(start) + 2_100 * MS
    stim.deliver(StimCommand(later, 2, "rest", (channel,)), later)
    pulses = stim.run_until(later + 100 * MS)
    assert pulses and min(p.t_ns for p in pulses) >= later
    assert len(pulses) == 4


class _PermissiveSupervisor(_RogueSupervisor):
    """A broken supervisor that passes everything: the device's own gate still holds."""

    def output(self, now_ns):
        return (ChannelCommand(1, 12.0, 450.0, 40.0), ChannelCommand(2, 3.0, 300.0, 40.0))

    def pulse_ok(self, pulse):
        return True


def test_device_gate_holds_even_with_a_permissive_supervisor() -> None:
    stim = PaddleStimulator(_PermissiveSupervisor(), PADDLE_16)
    pulses = stim.run_until(100 * MS)
    # 12 mA x 450 us = 5.4 uC on 0.12 cm^2 = 45 uC/cm^2 > the device's 30: never emitted.
    assert pulses and {p.electrode for p in pulses} == {2}
    assert stim.pulses_blocked == 4
