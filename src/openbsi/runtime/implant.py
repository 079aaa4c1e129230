"""The implant side of the radio link: the only place where stimulation commands are executed.

Frames arrive through the authenticated link (forged, modified, replayed and stale frames are
refused there); the payload is decoded, only the newest command of a batch is kept, and it goes
to the stimulator, whose supervisor clamps, vetoes or ramps. What is executed is audited here
once more, independently, so the session can report how many stale, replayed, forged or
out-of-limit commands and pulses were executed: all must stay zero.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

from openbsi.link.radio import SimulatedRadio
from openbsi.runtime.command_codec import decode_command
from openbsi.safety.audit import count_out_of_limit
from openbsi.safety.limits import SafetyLimits
from openbsi.safety.supervisor import SafetyDecision
from openbsi.stimulation.backends.base import Stimulator
from openbsi.stimulation.types import Pulse, StimCommand

logger = logging.getLogger(__name__)


@dataclass
class ImplantStats:
    commands_received: int = 0
    commands_superseded: int = 0  # older commands of a batch that arrived together
    malformed_payloads: int = 0
    executed_stale_commands: int = 0
    executed_replayed_commands: int = 0
    executed_out_of_limit_pulses: int = 0
    stimulator_failures: int = 0


@dataclass
class ImplantSpan:
    """What the implant did over one span of time."""

    executed: list[tuple[StimCommand, SafetyDecision]] = field(default_factory=list)
    pulses: list[Pulse] = field(default_factory=list)
    first_decision_ns: int | None = None  # monotonic stamp of the first command's decision


class Implant:
    """Receives commands over the radio and drives the stimulator through its supervisor."""

    def __init__(self, radio: SimulatedRadio, stimulator: Stimulator, limits: SafetyLimits) -> None:
        self.radio = radio
        self.stimulator = stimulator
        self.limits = limits
        self.stats = ImplantStats()
        self._last_executed_seq: int | None = None
        self.defer_audit = False  # True: the owner calls audit(pulses) itself, later

    def receive(self, now_ns: int) -> list[tuple[StimCommand, SafetyDecision]]:
        """Take what the radio delivered by now; pass the newest command to the stimulator."""
        newest: StimCommand | None = None
        for delivery in self.radio.receive_down(now_ns):
            try:
                command = decode_command(delivery.payload)
            except ValueError as error:
                self.stats.malformed_payloads += 1
                logger.warning("implant: malformed command payload (%s)", error)
                continue
            # The command was stamped on the base's clock: age it on ours (measured offset).
            command = replace(command, t_ns=self.radio.to_local_ns(command.t_ns))
            self.stats.commands_received += 1
            if newest is not None:
                self.stats.commands_superseded += 1
            if newest is None or command.seq > newest.seq:
                newest = command
        if newest is None:
            return []
        try:
            decision = self.stimulator.deliver(newest, now_ns)
        except Exception:  # a stimulator that fails must not take the session down
            self.stats.stimulator_failures += 1
            logger.exception("implant: stimulator failed to take a command")
            return []
        if not decision.vetoed:
            self._audit_executed(newest, now_ns)
        return [(newest, decision)]

    def _audit_executed(self, command: StimCommand, now_ns: int) -> None:
        if now_ns - command.t_ns > self.limits.watchdog_age_ms * 1e6:
            self.stats.executed_stale_commands += 1
        if self._last_executed_seq is not None and command.seq <= self._last_executed_seq:
            self.stats.executed_replayed_commands += 1
        self._last_executed_seq = command.seq

    def run_until(self, t_end_ns: int) -> ImplantSpan:
        """Deliver each frame at the moment it lands, emitting pulses in between, up to t_end_ns."""
        span = ImplantSpan()
        while (arrival_ns := self.radio.downlink.next_arrival_ns()) is not None:
            if arrival_ns > t_end_ns:
                break
            span.pulses += self.stimulate_until(arrival_ns)
            executed = self.receive(arrival_ns)
            if executed and not span.executed:
                span.first_decision_ns = time.monotonic_ns()
            span.executed += executed
        span.pulses += self.stimulate_until(t_end_ns)
        return span

    def stimulate_until(self, t_ns: int) -> list[Pulse]:
        """Emit the pulses due until t_ns; a failing stimulator yields none (and is counted)."""
        try:
            pulses = self.stimulator.run_until(t_ns)
        except Exception:
            self.stats.stimulator_failures += 1
            logger.exception("implant: stimulator failed while emitting")
            return []
        if pulses and not self.defer_audit:
            self.audit(pulses)
        return pulses

    def audit(self, pulses: list[Pulse]) -> None:
        """Count emitted pulses outside the limits (an after-the-fact check, not a gate: the
        supervisor gates every pulse before it is emitted). With defer_audit the loop calls
        this after stamping the stimulation, off the compute path."""
        if pulses:
            self.stats.executed_out_of_limit_pulses += count_out_of_limit(
                pulses, self.limits, self.stimulator.electrodes
            )
