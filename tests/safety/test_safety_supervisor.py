"""SafetySupervisor: clamps, vetoes, ramp, watchdog, emergency stop, per-pulse gate."""

from __future__ import annotations

import math

import pytest

from openbsi.safety import SafetyLimits, SafetySupervisor
from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.types import ChannelCommand, Pulse, StimCommand

MS = 1_000_000


def _sup(**kw) -> SafetySupervisor:
    return SafetySupervisor(SafetyLimits(**kw), PADDLE_16)


def _cmd(t_ns: int, seq: int, *channels: ChannelCommand, state: str = "left_knee") -> StimCommand:
    return StimCommand(t_ns=t_ns, seq=seq, state=state, channels=tuple(channels))


def _ch(e: int = 1, a: float = 4.0, pw: float = 300.0, f: float = 40.0, gap: float = 20.0):
    return ChannelCommand(e, a, pw, f, gap)


def test_valid_command_is_accepted_unchanged() -> None:
    sup = _sup()
    decision = sup.check(_cmd(0, 1, _ch()), 0)
    assert not decision.vetoed and decision.events == ()
    assert decision.command.channels == (_ch(),)
    assert sup.target == (_ch(),)


@pytest.mark.parametrize(
    ("channel", "rule"),
    [
        (_ch(a=math.nan), "non_finite"),
        (_ch(f=math.inf), "non_finite"),
        (_ch(a=-1.0), "negative"),
        (_ch(e=16), "unknown_electrode"),
        (_ch(e=-1), "unknown_electrode"),
    ],
)
def test_corrupt_channels_veto_the_command(channel, rule) -> None:
    sup = _sup()
    decision = sup.check(_cmd(0, 1, channel), 0)
    assert decision.vetoed and decision.command is None
    assert decision.events[-1].rule == rule and decision.events[-1].action == "veto"
    assert sup.events[-1] == decision.events[-1]


def test_structural_vetoes() -> None:
    sup = _sup()
    assert sup.check(_cmd(0, 1, _ch(), _ch()), 0).events[-1].rule == "duplicate_electrode"
    assert sup.check(_cmd(0, 1, _ch(), state="fly"), 0).events[-1].rule == "unknown_state"
    assert sup.check(_cmd(0, 1, _ch()), 400 * MS).events[-1].rule == "stale_command"
    assert sup.check(_cmd(500 * MS, 1, _ch()), 0).events[-1].rule == "future_timestamp"
    assert not sup.check(_cmd(0, 5, _ch()), 0).vetoed
    assert sup.check(_cmd(10 * MS, 5, _ch()), 10 * MS).events[-1].rule == "sequence"
    assert sup.check("not a command", 10 * MS).events[-1].rule == "malformed"


def test_numeric_excess_is_clamped_and_logged() -> None:
    sup = _sup()
    decision = sup.check(_cmd(0, 1, _ch(a=50.0, pw=900.0, f=1000.0, gap=500.0)), 0)
    assert not decision.vetoed
    (channel,) = decision.command.channels
    lim = sup.limits
    assert channel.pulse_width_us == lim.max_pulse_width_us
    assert channel.interphase_gap_us == lim.max_interphase_gap_us
    assert channel.frequency_hz <= lim.max_frequency_hz
    charge = channel.amplitude_ma * channel.pulse_width_us * 1e-3
    assert charge <= lim.max_charge_uc(PADDLE_16[1].area_mm2)
    rules = {event.rule for event in decision.events}
    assert {"max_amplitude", "max_pulse_width", "max_interphase_gap", "max_frequency"} <= rules
    assert rules & {"shannon", "charge_density"}
    assert all(event.action == "clamp" for event in decision.events)


def test_total_current_is_scaled_down() -> None:
    sup = _sup()
    channels = [_ch(e=e, a=8.0, pw=100.0) for e in range(5)]
    decision = sup.check(_cmd(0, 1, *channels), 0)
    total = sum(c.amplitude_ma for c in decision.command.channels)
    assert total <= sup.limits.max_total_ma
    assert total == pytest.approx(sup.limits.max_total_ma)
    assert any(event.rule == "max_total" for event in decision.events)


def test_low_frequency_and_zero_channels_are_switched_off() -> None:
    sup = _sup()
    decision = sup.check(_cmd(0, 1, _ch(e=1, f=0.5), _ch(e=2, a=0.0), _ch(e=3)), 0)
    assert [c.electrode for c in decision.command.channels] == [3]
    assert any(event.rule == "min_frequency" for event in decision.events)


def test_ramp_up_is_rate_limited_and_decrease_is_immediate() -> None:
    sup = _sup(max_ramp_up_ma_per_s=10.0, watchdog_age_ms=1000.0)
    sup.check(_cmd(0, 1, _ch(a=5.0)), 0)
    amplitudes = [sum(c.amplitude_ma for c in sup.output(t * 50 * MS)) for t in range(1, 12)]
    # 10 mA/s: 0.5 mA per 50 ms until 5 mA at 500 ms.
    assert amplitudes[0] == pytest.approx(0.5)
    assert amplitudes[4] == pytest.approx(2.5)
    assert amplitudes[9] == pytest.approx(5.0)
    assert any(event.rule == "ramp_rate" for event in sup.events)
    sup.check(_cmd(560 * MS, 2, _ch(a=1.0)), 560 * MS)
    assert sup.output(561 * MS)[0].amplitude_ma == pytest.approx(1.0)


@pytest.mark.parametrize("age_ms", [100.0, 250.0])
def test_watchdog_ramps_to_zero_within_ramp_down(age_ms: float) -> None:
    sup = _sup(watchdog_age_ms=age_ms, ramp_down_ms=200.0, max_ramp_up_ma_per_s=1e6)
    sup.check(_cmd(0, 1, _ch(a=6.0)), 0)
    trip = int(age_ms * MS)
    assert sup.output(trip - MS)[0].amplitude_ma == pytest.approx(6.0)
    before = 6.0
    for t in range(trip, trip + 200 * MS, 10 * MS):
        out = sup.output(t)
        now = out[0].amplitude_ma if out else 0.0
        assert now <= before
        before = now
    assert 0.0 < sup.output(trip + 150 * MS)[0].amplitude_ma < 6.0
    assert sup.output(trip + 200 * MS) == ()
    assert sup.watchdog_tripped
    assert [e.rule for e in sup.events if e.action == "ramp"][-1] == "watchdog"


def test_fresh_command_after_watchdog_restarts_output() -> None:
    sup = _sup(max_ramp_up_ma_per_s=1e6)
    sup.check(_cmd(0, 1, _ch(a=3.0)), 0)
    assert sup.output(600 * MS) == ()
    sup.check(_cmd(700 * MS, 2, _ch(a=3.0)), 700 * MS)
    assert sup.output(710 * MS)[0].amplitude_ma == pytest.approx(3.0)
    assert not sup.watchdog_tripped


def test_emergency_stop_latches_until_reset() -> None:
    sup = _sup(max_ramp_up_ma_per_s=1e6)
    sup.check(_cmd(0, 1, _ch()), 0)
    assert sup.output(MS)
    sup.emergency_stop(2 * MS)
    assert sup.output(3 * MS) == ()
    assert sup.check(_cmd(4 * MS, 2, _ch()), 4 * MS).events[-1].rule == "emergency_stop"
    assert not sup.pulse_ok(Pulse(5 * MS, 1, 1.0, 200.0))
    sup.reset_emergency_stop(6 * MS)
    assert not sup.check(_cmd(7 * MS, 3, _ch()), 7 * MS).vetoed
    assert sup.output(8 * MS)


def test_pulse_gate() -> None:
    sup = _sup()
    assert sup.pulse_ok(Pulse(0, 1, 4.0, 300.0))
    assert not sup.pulse_ok(Pulse(MS, 1, 4.0, 300.0))  # 1 ms later: faster than 255 Hz
    assert sup.pulse_ok(Pulse(25 * MS, 1, 4.0, 300.0))
    for bad in (
        Pulse(50 * MS, 2, 13.0, 100.0),  # amplitude
        Pulse(50 * MS, 2, 4.0, 30.0),  # pulse width
        Pulse(50 * MS, 2, 12.0, 450.0),  # charge (Shannon / density)
        Pulse(50 * MS, 2, math.nan, 300.0),
        Pulse(50 * MS, 2, 4.0, 300.0, interphase_gap_us=-5.0),
        Pulse(50 * MS, 99, 4.0, 300.0),
        Pulse(50 * MS, 2, 0.0, 300.0),
    ):
        assert not sup.pulse_ok(bad), bad
    # Total current of overlapping pulses.
    assert sup.pulse_ok(Pulse(100 * MS, 3, 10.0, 100.0))
    assert sup.pulse_ok(Pulse(100 * MS, 4, 10.0, 100.0))
    assert not sup.pulse_ok(Pulse(100 * MS + 1000, 5, 1.0, 100.0))
    assert sup.pulse_ok(Pulse(101 * MS, 5, 1.0, 100.0))


def test_numpy_numbers_are_accepted_as_numbers() -> None:
    import numpy as np

    sup = _sup()
    channel = ChannelCommand(np.int64(3), np.float32(2.0), np.float64(200.0), 40.0)
    decision = sup.check(StimCommand(np.int64(0), np.int64(1), "rest", (channel,)), 0)
    assert not decision.vetoed
    assert decision.command.channels[0].electrode == 3
    assert type(decision.command.channels[0].electrode) is int


def test_future_stamp_cannot_extend_the_watchdog() -> None:
    sup = _sup(max_ramp_up_ma_per_s=1e6, max_future_ms=50.0)
    assert not sup.check(_cmd(40 * MS, 1, _ch()), 0).vetoed  # stamped 40 ms ahead
    assert sup.output(249 * MS)
    assert sup.output(450 * MS) == ()  # 250 ms age + 200 ms ramp from the clock, not the stamp


def test_a_broken_clock_vetoes() -> None:
    sup = _sup()
    decision = sup.check(_cmd(0, 1, _ch()), math.nan)
    assert decision.vetoed and decision.events[-1].field == "now_ns"


def test_surface_rms_density_clamp_and_gate() -> None:
    from openbsi.safety.audit import count_out_of_limit
    from openbsi.stimulation.profiles import TRANSCUTANEOUS_PROFILE
    from openbsi.stimulation.types import Electrode

    small = (Electrode(0, "S0", "C3-4", "midline", 0.0, 0.0, 400.0, "hydrogel"),)
    limits = SafetyLimits.from_profile(TRANSCUTANEOUS_PROFILE)
    sup = SafetySupervisor(limits, small)
    decision = sup.check(_cmd(0, 1, ChannelCommand(0, 100.0, 1000.0, 30.0, 0.0)), 0)
    (channel,) = decision.command.channels
    assert decision.events[-1].rule == "rms_current_density"
    assert channel.amplitude_ma == pytest.approx(2.0 * 4.0 / math.sqrt(0.03), rel=1e-6)
    assert sup.pulse_ok(Pulse(0, 0, channel.amplitude_ma, 1000.0, 0.0))
    too_much = Pulse(MS * 100, 0, channel.amplitude_ma * 1.01, 1000.0, 0.0)
    assert not sup.pulse_ok(too_much)
    assert count_out_of_limit([too_much], limits, small) == 1
