"""The safety supervisor: holds whatever the decoder, the mapper or the user asks.

Three gates:
1. check(command): structural errors (non-finite or negative values, unknown or duplicate
   electrodes, unknown state, stale / future timestamps, replayed sequence numbers) veto the
   whole command; numbers beyond a limit are clamped (amplitude, pulse width, frequency and
   duty, charge per phase against Shannon and charge density, total current). The accepted
   command becomes the target setpoint.
2. output(now): the setpoints to apply now, ramp-rate limited upward toward the target; a
   watchdog ramps everything to zero within ramp_down_ms once the newest accepted command is
   older than watchdog_age_ms; an emergency stop zeroes at once and latches.
3. pulse_ok(pulse): the final per-pulse gate a backend must pass before emitting anything.

Every clamp, veto, ramp and stop is recorded as a SafetyEvent (self.events).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

from openbsi.safety.limits import SafetyLimits
from openbsi.states import STATES
from openbsi.stimulation.types import ChannelCommand, Electrode, Pulse, StimCommand

_NS_PER_MS = 1_000_000
_NS_PER_S = 1_000_000_000
# Time tolerance of the per-pulse frequency check (pulse times are whole nanoseconds).
_INTERVAL_TOLERANCE_NS = 2


@dataclass(frozen=True)
class SafetyEvent:
    """One clamp / veto / ramp / estop, with the rule that triggered it."""

    t_ns: int
    rule: str
    field: str
    value: float
    limit: float
    action: str  # "clamp" | "veto" | "ramp" | "estop"
    electrode: int | None = None


@dataclass(frozen=True)
class SafetyDecision:
    """What check() made of a command."""

    command: StimCommand | None  # what will be applied (clamped), None when vetoed
    vetoed: bool
    events: tuple[SafetyEvent, ...]


class _VetoError(Exception):
    def __init__(self, event: SafetyEvent) -> None:
        super().__init__(event.rule)
        self.event = event


def _finite(value: object) -> bool:
    kind = type(value)
    if kind is float:  # fast paths for the common types (the ABC check is slow)
        return math.isfinite(value)  # type: ignore[arg-type]
    if kind is int:
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: object) -> bool:
    if type(value) is int:
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _as_value(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


class SafetySupervisor:
    """Gatekeeper between the mapper and any stimulator backend."""

    def __init__(self, limits: SafetyLimits, electrodes: tuple[Electrode, ...]) -> None:
        if not isinstance(limits, SafetyLimits):
            raise ValueError(f"limits must be a SafetyLimits, got {type(limits).__name__}")
        if not electrodes:
            raise ValueError("electrodes must name at least one electrode, got none")
        self.limits = limits
        self.electrodes = tuple(electrodes)
        self._by_index = {electrode.index: electrode for electrode in self.electrodes}
        if len(self._by_index) != len(self.electrodes):
            raise ValueError("electrodes must have unique indices")
        # Per-electrode charge-per-phase limit (uC) and Shannon bound on D x Q.
        self._max_charge_uc = {e.index: limits.max_charge_uc(e.area_mm2) for e in electrodes}
        self._area_cm2 = {e.index: e.area_mm2 / 100.0 for e in electrodes}
        self._shannon_dq = 10.0**limits.shannon_k
        self.events: list[SafetyEvent] = []
        self._target: dict[int, ChannelCommand] = {}
        self._current: dict[int, ChannelCommand] = {}  # what output() last returned, by electrode
        self._ramping: set[int] = set()
        self._steady: tuple[ChannelCommand, ...] | None = None  # output at target, no ramp
        self._last_tuple: tuple[ChannelCommand, ...] = ()
        self._last_output_ns: int | None = None
        self._last_command_t_ns: int | None = None
        self._watchdog_ref_ns: int | None = None
        self._last_seq: int | None = None
        self._watchdog_tripped = False
        self._trip_amplitudes: dict[int, float] = {}
        self._estopped = False
        # State of the per-pulse gate.
        self._last_pulse_ns: dict[int, int] = {}
        self._in_flight: list[tuple[int, float]] = []  # (end_ns, amplitude_ma) of recent pulses

    # ------------------------------------------------------------------ properties
    @property
    def estopped(self) -> bool:
        """Whether the emergency stop is latched."""
        return self._estopped

    @property
    def watchdog_tripped(self) -> bool:
        """Whether output is being (or has been) ramped to zero for stale input."""
        return self._watchdog_tripped

    @property
    def target(self) -> tuple[ChannelCommand, ...]:
        """The accepted (clamped) setpoints output() ramps toward."""
        return tuple(self._target[e] for e in sorted(self._target))

    # ------------------------------------------------------------------ gate 1: commands
    def check(self, command: StimCommand, now_ns: int) -> SafetyDecision:
        """Clamp or veto a command; an accepted command becomes the target setpoint."""
        clock_ok = _finite(now_ns)
        now = int(now_ns) if clock_ok else self._last_output_ns or 0
        events: list[SafetyEvent] = []
        try:
            if not clock_ok:
                raise _VetoError(
                    SafetyEvent(now, "malformed", "now_ns", _as_value(now_ns), math.nan, "veto")
                )
            accepted = self._check(command, now, events)
        except _VetoError as veto:
            events.append(veto.event)
            self.events.extend(events)
            return SafetyDecision(command=None, vetoed=True, events=tuple(events))
        self.events.extend(events)
        self._accept(accepted, now)
        return SafetyDecision(command=accepted, vetoed=False, events=tuple(events))

    def _check(self, command: StimCommand, now: int, events: list[SafetyEvent]) -> StimCommand:
        lim = self.limits

        def veto(rule: str, field: str, value: object, limit: float, e: int | None = None) -> None:
            raise _VetoError(SafetyEvent(now, rule, field, _as_value(value), limit, "veto", e))

        if self._estopped:
            veto("emergency_stop", "command", 1.0, 0.0)
        if not isinstance(command, StimCommand):
            veto("malformed", "command", math.nan, math.nan)
        t_ns, seq = command.t_ns, command.seq
        if not _integer(t_ns):
            veto("malformed", "t_ns", t_ns, math.nan)
        if not _integer(seq):
            veto("malformed", "seq", seq, math.nan)
        t_ns, seq = int(t_ns), int(seq)
        if now - t_ns > lim.watchdog_age_ms * _NS_PER_MS:
            veto("stale_command", "age_ms", (now - t_ns) / _NS_PER_MS, lim.watchdog_age_ms)
        if t_ns - now > lim.max_future_ms * _NS_PER_MS:
            veto("future_timestamp", "lead_ms", (t_ns - now) / _NS_PER_MS, lim.max_future_ms)
        if self._last_seq is not None and seq <= self._last_seq:
            veto("sequence", "seq", seq, float(self._last_seq + 1))
        if self._last_command_t_ns is not None and t_ns < self._last_command_t_ns:
            veto("time_order", "t_ns", t_ns, float(self._last_command_t_ns))
        if command.state not in STATES:
            veto("unknown_state", "state", math.nan, math.nan)
        if not isinstance(command.channels, tuple | list):
            veto("malformed", "channels", math.nan, math.nan)

        clamped: list[ChannelCommand] = []
        seen: set[int] = set()
        for channel in command.channels:
            if not isinstance(channel, ChannelCommand):
                veto("malformed", "channel", math.nan, math.nan)
            e = channel.electrode
            if not _integer(e) or int(e) not in self._by_index:
                veto("unknown_electrode", "electrode", e, math.nan)
            e = int(e)
            if e in seen:
                veto("duplicate_electrode", "electrode", e, math.nan, e)
            seen.add(e)
            for key in ("amplitude_ma", "pulse_width_us", "frequency_hz", "interphase_gap_us"):
                value = getattr(channel, key)
                if not _finite(value):
                    veto("non_finite", key, value, math.nan, e)
                if value < 0:
                    veto("negative", key, value, 0.0, e)
            result = self._clamp_channel(channel, e, now, events)
            if result is not None:
                clamped.append(result)

        total = sum(c.amplitude_ma for c in clamped)
        if total > lim.max_total_ma:
            factor = lim.max_total_ma / total * (1.0 - 1e-9)
            events.append(
                SafetyEvent(now, "max_total", "amplitude_ma", total, lim.max_total_ma, "clamp")
            )
            clamped = [
                ChannelCommand(
                    c.electrode,
                    c.amplitude_ma * factor,
                    c.pulse_width_us,
                    c.frequency_hz,
                    c.interphase_gap_us,
                )
                for c in clamped
            ]
            clamped = [c for c in clamped if c.amplitude_ma >= max(lim.min_amplitude_ma, 1e-12)]
        return StimCommand(t_ns=t_ns, seq=seq, state=command.state, channels=tuple(clamped))

    def _clamp_channel(
        self, channel: ChannelCommand, e: int, now: int, events: list[SafetyEvent]
    ) -> ChannelCommand | None:
        """Clamp one channel into the limits; None when it ends up switched off."""
        lim = self.limits
        amplitude = float(channel.amplitude_ma)
        width = float(channel.pulse_width_us)
        frequency = float(channel.frequency_hz)
        gap = float(channel.interphase_gap_us)

        def clamp(rule: str, field: str, value: float, limit: float) -> None:
            events.append(SafetyEvent(now, rule, field, value, limit, "clamp", e))

        if amplitude == 0.0 or frequency == 0.0:
            return None  # channel off
        if frequency < lim.min_frequency_hz:
            clamp("min_frequency", "frequency_hz", frequency, lim.min_frequency_hz)
            return None
        if amplitude < lim.min_amplitude_ma:
            clamp("min_amplitude", "amplitude_ma", amplitude, lim.min_amplitude_ma)
            return None
        if amplitude > lim.max_amplitude_ma:
            clamp("max_amplitude", "amplitude_ma", amplitude, lim.max_amplitude_ma)
            amplitude = lim.max_amplitude_ma
        if width > lim.max_pulse_width_us:
            clamp("max_pulse_width", "pulse_width_us", width, lim.max_pulse_width_us)
            width = lim.max_pulse_width_us
        if width < lim.min_pulse_width_us:
            clamp("min_pulse_width", "pulse_width_us", width, lim.min_pulse_width_us)
            width = lim.min_pulse_width_us
        if gap > lim.max_interphase_gap_us:
            clamp("max_interphase_gap", "interphase_gap_us", gap, lim.max_interphase_gap_us)
            gap = lim.max_interphase_gap_us
        max_frequency = lim.max_frequency_for(width, gap)
        if frequency > max_frequency:
            rule = "max_frequency" if max_frequency >= lim.max_frequency_hz else "max_duty"
            clamp(rule, "frequency_hz", frequency, max_frequency)
            frequency = max_frequency
        area = self._by_index[e].area_mm2
        max_amplitude = lim.max_amplitude_for(area, width)
        if amplitude > max_amplitude:
            clamp(lim.binding_rule(area, width), "amplitude_ma", amplitude, max_amplitude)
            amplitude = max_amplitude
        if amplitude < max(lim.min_amplitude_ma, 1e-12):
            return None
        return ChannelCommand(e, amplitude, width, frequency, gap)

    def _accept(self, command: StimCommand, now: int) -> None:
        self.output(now)  # bring the ramp up to date before changing the target
        self._target = {c.electrode: c for c in command.channels}
        self._last_command_t_ns = command.t_ns
        self._watchdog_ref_ns = min(command.t_ns, now)  # a future stamp cannot extend it
        self._last_seq = command.seq
        self._watchdog_tripped = False
        self._trip_amplitudes = {}
        # Decreases and waveform changes apply at once; increases ramp from the present value.
        current: dict[int, ChannelCommand] = {}
        for e, target in self._target.items():
            present = self._current.get(e)
            amplitude = 0.0 if present is None else min(present.amplitude_ma, target.amplitude_ma)
            if amplitude > 0.0:
                current[e] = ChannelCommand(
                    e,
                    amplitude,
                    target.pulse_width_us,
                    target.frequency_hz,
                    target.interphase_gap_us,
                )
        self._current = current
        self._ramping = set()
        self._steady = None
        self._last_tuple = self._current_tuple()  # decreases hold from `now` on

    # ------------------------------------------------------------------ gate 2: setpoints
    def output(self, now_ns: int) -> tuple[ChannelCommand, ...]:
        """The setpoints to apply at now_ns (ramp-limited, watchdog, emergency stop)."""
        now = int(now_ns)
        if self._estopped:
            self._current = {}
            self._last_output_ns = max(now, self._last_output_ns or now)
            self._last_tuple = ()
            return ()
        last = self._last_output_ns
        if last is not None and now <= last:
            return self._last_tuple
        trip_ns = self._trip_ns()
        tripping = trip_ns is not None and now >= trip_ns
        if not tripping and self._steady is not None:  # fast path: holding the target
            self._last_output_ns = now
            return self._steady
        if tripping:
            assert trip_ns is not None
            self._steady = None
            if not self._watchdog_tripped:
                # Ramp normally up to the trip time, then down to zero within ramp_down_ms.
                if last is None or last < trip_ns:
                    self._ramp_up_to(trip_ns, last)
                self._watchdog_tripped = True
                self._trip_amplitudes = {e: c.amplitude_ma for e, c in self._current.items()}
                age_ms = (now - (self._watchdog_ref_ns or 0)) / _NS_PER_MS
                self.events.append(
                    SafetyEvent(
                        trip_ns, "watchdog", "age_ms", age_ms, self.limits.watchdog_age_ms, "ramp"
                    )
                )
            self._ramp_down_at(now, trip_ns)
        else:
            self._ramp_up_to(now, last)
        self._last_output_ns = now
        self._last_tuple = self._current_tuple()
        if not tripping and not self._ramping:
            self._steady = self._last_tuple
        return self._last_tuple

    def silent_from_ns(self) -> int | None:
        """When output must be zero unless a newer command arrives: watchdog trip + ramp-down
        (None before the first command)."""
        trip_ns = self._trip_ns()
        return None if trip_ns is None else trip_ns + int(self.limits.ramp_down_ms * _NS_PER_MS)

    def _trip_ns(self) -> int | None:
        if self._watchdog_ref_ns is None:
            return None
        return self._watchdog_ref_ns + int(self.limits.watchdog_age_ms * _NS_PER_MS)

    def _ramp_up_to(self, now: int, last: int | None) -> None:
        dt_s = 0.0 if last is None else (now - last) / _NS_PER_S
        step_ma = self.limits.max_ramp_up_ma_per_s * dt_s
        current: dict[int, ChannelCommand] = {}
        for e, target in self._target.items():
            present = self._current.get(e)
            amplitude = 0.0 if present is None else present.amplitude_ma
            if amplitude < target.amplitude_ma:
                amplitude = min(target.amplitude_ma, amplitude + step_ma)
                if amplitude < target.amplitude_ma and e not in self._ramping:
                    self._ramping.add(e)
                    self.events.append(
                        SafetyEvent(
                            now,
                            "ramp_rate",
                            "amplitude_ma",
                            target.amplitude_ma,
                            self.limits.max_ramp_up_ma_per_s,
                            "ramp",
                            e,
                        )
                    )
            else:
                amplitude = target.amplitude_ma
            if amplitude >= target.amplitude_ma:
                self._ramping.discard(e)
            if amplitude > 0.0:
                current[e] = ChannelCommand(
                    e,
                    amplitude,
                    target.pulse_width_us,
                    target.frequency_hz,
                    target.interphase_gap_us,
                )
        self._current = current

    def _ramp_down_at(self, now: int, trip_ns: int) -> None:
        ramp_ns = self.limits.ramp_down_ms * _NS_PER_MS
        fraction = max(0.0, 1.0 - (now - trip_ns) / ramp_ns)
        current: dict[int, ChannelCommand] = {}
        for e, present in self._current.items():
            amplitude = min(present.amplitude_ma, self._trip_amplitudes.get(e, 0.0) * fraction)
            if amplitude > 0.0:
                current[e] = ChannelCommand(
                    e,
                    amplitude,
                    present.pulse_width_us,
                    present.frequency_hz,
                    present.interphase_gap_us,
                )
        self._current = current

    def _current_tuple(self) -> tuple[ChannelCommand, ...]:
        floor_ma = max(self.limits.min_amplitude_ma, 1e-12)
        return tuple(
            self._current[e]
            for e in sorted(self._current)
            if self._current[e].amplitude_ma >= floor_ma
        )

    def emergency_stop(self, now_ns: int) -> None:
        """Zero all output at once and veto every command until reset_emergency_stop()."""
        self._estopped = True
        self._target = {}
        self._current = {}
        self._steady = None
        self._last_tuple = ()
        self.events.append(SafetyEvent(int(now_ns), "emergency_stop", "command", 1.0, 0.0, "estop"))

    def reset_emergency_stop(self, now_ns: int) -> None:
        """Release a latched emergency stop; output restarts from zero with the next command."""
        if self._estopped:
            self._estopped = False
            self._watchdog_ref_ns = None
            self.events.append(
                SafetyEvent(int(now_ns), "emergency_stop_reset", "command", 0.0, 0.0, "estop")
            )

    # ------------------------------------------------------------------ gate 3: pulses
    def pulse_ok(self, pulse: Pulse) -> bool:
        """The final per-pulse gate: hard limits, Shannon, charge balance, frequency, total.

        Stateful: pulses must be presented in time order; an accepted pulse counts toward the
        per-electrode interval and the total current of overlapping pulses.
        """
        if self._estopped or not self.pulse_within_limits(pulse):
            return False
        lim = self.limits
        t, e = pulse.t_ns, pulse.electrode
        silent = self.silent_from_ns()
        if silent is not None and t >= silent:
            return False  # past the watchdog's ramp to zero: no backend may place a pulse here
        width, gap = pulse.pulse_width_us, pulse.interphase_gap_us
        previous = self._last_pulse_ns.get(e)
        if previous is not None:
            min_interval_ns = _NS_PER_S / lim.max_frequency_for(width, gap)
            if t - previous < min_interval_ns - _INTERVAL_TOLERANCE_NS:
                return False
        self._in_flight = [(end, a) for end, a in self._in_flight if end > t]
        if sum(a for _, a in self._in_flight) + pulse.amplitude_ma > lim.max_total_ma:
            return False
        self._last_pulse_ns[e] = t
        span_ns = math.ceil(lim.pulse_span_us(width, gap) * 1e3)
        self._in_flight.append((t + span_ns, pulse.amplitude_ma))
        return True

    def pulse_within_limits(self, pulse: Pulse) -> bool:
        """The stateless part of pulse_ok: one pulse against every per-pulse limit."""
        if not isinstance(pulse, Pulse):
            return False
        t, e = pulse.t_ns, pulse.electrode
        if not isinstance(t, int) or isinstance(t, bool):
            return False
        if not isinstance(e, int) or isinstance(e, bool) or e not in self._by_index:
            return False
        a, width, gap = pulse.amplitude_ma, pulse.pulse_width_us, pulse.interphase_gap_us
        if not (_finite(a) and _finite(width) and _finite(gap)):
            return False
        lim = self.limits
        if not (max(lim.min_amplitude_ma, 1e-12) <= a <= lim.max_amplitude_ma):
            return False
        if not (lim.min_pulse_width_us <= width <= lim.max_pulse_width_us):
            return False
        # Charge balance: the two phases are equal by construction (Pulse is symmetric); the
        # gap between them must be a real, bounded delay.
        if not (0.0 <= gap <= lim.max_interphase_gap_us):
            return False
        charge_uc = a * lim.phase_width_us(width) * 1e-3
        if charge_uc > self._max_charge_uc[e]:
            return False
        density = charge_uc / self._area_cm2[e]
        # Shannon: log10(D) <= k - log10(Q)  <=>  D * Q <= 10**k.
        if density * charge_uc > self._shannon_dq:
            return False
        if lim.max_rms_density_ma_cm2 > 0:
            conducting_s = (width if lim.carrier_hz > 0 else 2.0 * width) * 1e-6
            duty = min(lim.max_frequency_hz * conducting_s, 1.0)
            if a * math.sqrt(duty) / self._area_cm2[e] > lim.max_rms_density_ma_cm2:
                return False
        return True


def summarize_events(events: Iterable[SafetyEvent]) -> dict[str, int]:
    """Count of events per rule (for reports and the bench)."""
    counts: dict[str, int] = {}
    for event in events:
        counts[event.rule] = counts.get(event.rule, 0) + 1
    return counts
