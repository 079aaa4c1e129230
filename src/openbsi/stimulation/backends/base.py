"""The stimulator interface every backend shares (python-can style).

The public methods hold what is shared: deliver() passes every command through the safety
supervisor and logs the decision; run_until() turns the supervisor's setpoints into pulses,
keeps each channel's pulse phase continuous across calls, passes every pulse through the
supervisor's per-pulse gate and the device profile, and hands the survivors to the narrow
per-backend hook _emit().

stimulation/ may not import safety/, so the supervisor is injected through the Supervisor
Protocol below. The constructor requires one: there is no default and no path to _emit() that
skips it.
"""

from __future__ import annotations

import logging
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, runtime_checkable

from openbsi.stimulation.profiles import DeviceProfile
from openbsi.stimulation.types import ChannelCommand, Electrode, Pulse, StimCommand

logger = logging.getLogger("openbsi.stimulation")

_NS_PER_S = 1_000_000_000
_NS_PER_MS = 1_000_000
_MIN_PERIOD_NS = 1_000  # guards the scheduling loop against a misbehaving supervisor


@runtime_checkable
class Decision(Protocol):
    """What a supervisor's check() returns (openbsi.safety.SafetyDecision satisfies it)."""

    command: StimCommand | None
    vetoed: bool
    events: tuple[Any, ...]


@runtime_checkable
class Supervisor(Protocol):
    """The safety gate a backend requires (openbsi.safety.SafetySupervisor satisfies it)."""

    def check(self, command: StimCommand, now_ns: int) -> Any: ...

    def output(self, now_ns: int) -> tuple[ChannelCommand, ...]: ...

    def pulse_ok(self, pulse: Pulse) -> bool: ...

    def emergency_stop(self, now_ns: int) -> None: ...


def _pulse_time(pulse: Pulse) -> int:
    return pulse.t_ns


def period_ns(frequency_hz: float) -> int:
    """Inter-pulse interval in whole ns, rounded up (never faster than asked, >= 1 us)."""
    return max(math.ceil(_NS_PER_S / frequency_hz), _MIN_PERIOD_NS)


def _check_limits_within_profile(limits: Any, profile: DeviceProfile) -> None:
    """Refuse a supervisor whose limits are looser than the hardware's (when it exposes them)."""
    if limits is None:
        return
    upper = [
        "max_amplitude_ma",
        "max_total_ma",
        "max_pulse_width_us",
        "max_frequency_hz",
        "max_interphase_gap_us",
    ]
    if profile.max_charge_density_uc_cm2 > 0:
        upper.append("max_charge_density_uc_cm2")
    for key in upper:
        value = getattr(limits, key, None)
        if value is not None and value > getattr(profile, key):
            raise ValueError(
                f"supervisor limits.{key} must be <= the {profile.name} profile's "
                f"{getattr(profile, key)}, got {value}"
            )
    for key in ("min_pulse_width_us", "min_amplitude_ma"):
        value = getattr(limits, key, None)
        if value is not None and value < getattr(profile, key):
            raise ValueError(
                f"supervisor limits.{key} must be >= the {profile.name} profile's "
                f"{getattr(profile, key)}, got {value}"
            )
    carrier = getattr(limits, "carrier_hz", None)
    if carrier is not None and carrier != profile.carrier_hz:
        raise ValueError(
            f"supervisor limits.carrier_hz must equal the {profile.name} profile's "
            f"{profile.carrier_hz}, got {carrier}"
        )


class Stimulator(ABC):
    """A stimulator driven only through its safety supervisor."""

    name: ClassVar[str] = ""
    default_profile: ClassVar[DeviceProfile | None] = None

    def __init__(
        self,
        supervisor: Supervisor,
        electrodes: tuple[Electrode, ...],
        *,
        profile: DeviceProfile | None = None,
        eval_step_ms: float = 5.0,
        on_decision: Callable[[Any], None] | None = None,
        clock_start_ns: int = 0,
        sink: Callable[[list[Pulse]], None] | None = None,
    ) -> None:
        if not isinstance(supervisor, Supervisor):
            raise ValueError(
                "supervisor must provide check/output/pulse_ok/emergency_stop "
                f"(a SafetySupervisor), got {type(supervisor).__name__}"
            )
        if not electrodes:
            raise ValueError("electrodes must name at least one electrode, got none")
        if not (math.isfinite(eval_step_ms) and 0.1 <= eval_step_ms <= 50.0):
            raise ValueError(f"eval_step_ms must be in [0.1, 50], got {eval_step_ms!r}")
        supervised = getattr(supervisor, "electrodes", None)
        if supervised is not None and {e.index for e in supervised} != {
            e.index for e in electrodes
        }:
            raise ValueError("electrodes must be the layout the supervisor guards")
        if sink is not None and not callable(sink):
            raise ValueError(f"sink must be callable taking list[Pulse], got {sink!r}")
        self._supervisor = supervisor
        # Where delivered pulses go besides the hardware hook (e.g. the virtual patient's cord).
        self.sink = sink
        self.electrodes = tuple(electrodes)
        self._area_mm2 = {e.index: e.area_mm2 for e in self.electrodes}
        self.profile = profile if profile is not None else self.default_profile
        if self.profile is not None:
            _check_limits_within_profile(getattr(supervisor, "limits", None), self.profile)
        self._eval_step_ns = int(eval_step_ms * _NS_PER_MS)
        self._on_decision = on_decision
        # Where run_until() starts: 0 on a session clock; an absolute clock (the implant
        # process runs on time.monotonic_ns()) passes its start, or the first call would
        # step through the whole uptime in eval_step_ms evaluations.
        self._clock_start_ns = int(clock_start_ns)
        self._clock_ns: int | None = None  # end of the span already emitted
        self._next_ns: dict[int, int] = {}  # next pulse time of each active channel
        self._last_pulse_ns: dict[int, int] = {}
        self._last_setpoints: tuple[ChannelCommand, ...] | None = None
        self._last_active: dict[int, ChannelCommand] = {}
        self.pulses_requested = 0  # every pulse the setpoints asked for
        self.pulses_delivered = 0
        self.pulses_blocked = 0
        # Requested pulses not delivered, by reason ("device_profile", "safety_gate", and the
        # backend's own, e.g. a node's "energy" or "slot_conflict").
        self.refused_by_reason: dict[str, int] = {}
        self.charge_delivered_uc = 0.0  # cathodic charge summed over delivered pulses
        self.commands_accepted = 0
        self.commands_vetoed = 0

    @property
    def supervisor(self) -> Supervisor:
        """The injected safety supervisor (read-only)."""
        return self._supervisor

    @property
    def clock_ns(self) -> int | None:
        """End of the span run_until() has already emitted (None before the first call)."""
        return self._clock_ns

    # ------------------------------------------------------------------ shared logic
    def deliver(self, command: StimCommand, now_ns: int) -> Any:
        """Pass a command through the supervisor; the accepted part becomes the setpoint.

        Pulses are never backdated: if run_until() has fallen behind now_ns, the span it
        missed is skipped rather than emitted late (nothing is emitted before the first
        command either).
        """
        if isinstance(now_ns, numbers.Integral) and not isinstance(now_ns, bool):
            self._skip_to(int(now_ns))
        decision = self._supervisor.check(command, now_ns)
        if decision.vetoed:
            self.commands_vetoed += 1
            logger.info("%s: command vetoed (%d events)", self.name, len(decision.events))
        else:
            self.commands_accepted += 1
        if self._on_decision is not None:
            self._on_decision(decision)
        return decision

    def _skip_to(self, now: int) -> None:
        if self._clock_ns is not None and now <= self._clock_ns:
            return
        self._clock_ns = now
        for e, due in self._next_ns.items():
            if due < now:  # due was >= last pulse + period, so now keeps the interval
                self._next_ns[e] = now

    def emergency_stop(self, now_ns: int) -> None:
        """Stop all stimulation at once (latched in the supervisor)."""
        self._supervisor.emergency_stop(now_ns)
        self._next_ns.clear()
        self._on_emergency_stop()

    def run_until(self, t_ns: int) -> list[Pulse]:
        """Emit every pulse due in [previous end, t_ns), in time order; return them."""
        t_end = int(t_ns)
        if self._clock_ns is None:
            self._clock_ns = min(t_end, self._clock_start_ns)
        if t_end <= self._clock_ns:
            return []
        candidates = self._generate(self._clock_ns, t_end)
        self._clock_ns = t_end
        self.pulses_requested += len(candidates)
        scheduled = sorted(self._schedule(candidates, t_end), key=_pulse_time)
        accepted: list[Pulse] = []
        for pulse in scheduled:
            reason = self._refusal(pulse)
            if reason is None:
                accepted.append(pulse)
            else:
                self.pulses_blocked += 1
                self.refuse(reason)
        return self._emit_checked(accepted)

    def refuse(self, reason: str, n: int = 1) -> None:
        """Count n requested pulses that were not delivered, under their reason."""
        self.refused_by_reason[reason] = self.refused_by_reason.get(reason, 0) + n

    def _generate(self, t: int, t_end: int) -> list[Pulse]:
        """Pulses the supervisor's setpoints ask for in [t, t_end), continuing each phase."""
        candidates: list[Pulse] = []
        output = self._supervisor.output
        setpoints = self._reconcile(t, output(t))
        while True:
            t_due = min(self._next_ns.values()) if self._next_ns else None
            t_eval = min(t + self._eval_step_ns, t_end)
            if t_due is not None and t_due < t_eval:
                t = t_due
                setpoints = self._reconcile(t, output(t))
                scale = self._scale_at(t)
                scale = min(scale, 1.0) if scale > 0.0 else 0.0  # never amplifies; NaN -> 0
                for e, due in self._next_ns.items():
                    if due != t:
                        continue
                    sp = setpoints[e]
                    if scale > 0.0:
                        candidates.append(
                            Pulse(
                                t,
                                e,
                                sp.amplitude_ma * scale if scale < 1.0 else sp.amplitude_ma,
                                sp.pulse_width_us,
                                sp.interphase_gap_us,
                            )
                        )
                        self._last_pulse_ns[e] = t
                    self._next_ns[e] = t + period_ns(sp.frequency_hz)
                continue
            t = t_eval
            if t >= t_end:
                return candidates
            setpoints = self._reconcile(t, output(t))

    def _pulse_passes(self, pulse: Pulse) -> bool:
        return self._refusal(pulse) is None

    def _refusal(self, pulse: Pulse) -> str | None:
        """Why a pulse may not be emitted (None: it may)."""
        area = self._area_mm2.get(pulse.electrode)
        if area is None:
            return "unknown_electrode"  # not a contact of this device
        if self.profile is not None and not self.profile.pulse_within(pulse, area):
            return "device_profile"
        return None if self._supervisor.pulse_ok(pulse) else "safety_gate"

    def _emit_checked(self, pulses: list[Pulse]) -> list[Pulse]:
        if pulses:
            self._emit(pulses)
            self.pulses_delivered += len(pulses)
            carrier = self.profile is not None and self.profile.carrier_hz > 0
            # Cathodic charge: one phase of a biphasic pulse, or half a carrier envelope.
            share = 0.5 if carrier else 1.0
            self.charge_delivered_uc += share * sum(p.charge_uc for p in pulses)
            if self.sink is not None:
                self.sink(pulses)
        return pulses

    def delivery_summary(self, elapsed_s: float | None = None) -> dict[str, Any]:
        """Requested, delivered and refused pulses (by reason), delivered charge, and the
        energy spent over elapsed_s (None where the backend has no energy model)."""
        return {
            "pulses_requested": self.pulses_requested,
            "pulses_delivered": self.pulses_delivered,
            "refused": dict(sorted(self.refused_by_reason.items())),
            "charge_uc": self.charge_delivered_uc,
            "energy_j": None,
        }

    def _reconcile(
        self, t: int, setpoints: tuple[ChannelCommand, ...]
    ) -> dict[int, ChannelCommand]:
        """Start channels that became active (respecting the interval since their last pulse)
        and forget channels that stopped."""
        if setpoints is self._last_setpoints and self._next_ns.keys() == self._last_active.keys():
            return self._last_active  # unchanged since the last call (the common case)
        active: dict[int, ChannelCommand] = {}
        for sp in setpoints:
            a, f = sp.amplitude_ma, sp.frequency_hz
            if math.isfinite(a) and a > 0.0 and math.isfinite(f) and f > 0.0:
                active[sp.electrode] = sp
        for e in [e for e in self._next_ns if e not in active]:
            del self._next_ns[e]
        for e, sp in active.items():
            if e not in self._next_ns:
                last = self._last_pulse_ns.get(e)
                start = t if last is None else max(t, last + period_ns(sp.frequency_hz))
                self._next_ns[e] = start
        self._last_setpoints, self._last_active = setpoints, active
        return active

    # ------------------------------------------------------------------ backend hooks
    def _schedule(self, pulses: list[Pulse], t_end_ns: int) -> list[Pulse]:
        """Place requested pulses in time (may drop or delay within the span); default: as is.

        Runs before the safety gate, so whatever it returns is still checked pulse by pulse.
        """
        return pulses

    def _scale_at(self, t_ns: int) -> float:
        """Extra amplitude factor in [0, 1] at t_ns (e.g. a session ramp); default 1."""
        return 1.0

    @abstractmethod
    def _emit(self, pulses: list[Pulse]) -> None:
        """Hand checked pulses to the hardware / sink (the narrow per-backend hook)."""

    def _on_emergency_stop(self) -> None:  # noqa: B027 (optional hook)
        """Backend-specific reaction to an emergency stop (e.g. cut the transmitter)."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release hardware resources."""
