"""Battery-free magnetoelectric nodes: energy harvesting and the shared-transmitter scheduler.

One external transmitter powers and programs every node (Yu et al., arXiv 2112.15552, via
facts.md). Each node harvests power according to its depth and misalignment into a small
energy store; each pulse draws from it. The transmitter triggers one node at a time in a
time-division frame: node i is always triggered i slots after the nominal pulse time (a fixed
latency per node, so each node's pulse intervals are kept exactly). A request whose slot
overlaps another node's is rejected, as is one the node cannot power or address; the reasons
are "energy", "slot_conflict", "unknown_node" and "out_of_range".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from openbsi.stimulation.layouts import NodePlacement
from openbsi.stimulation.profiles import NODES_PROFILE, DeviceProfile
from openbsi.stimulation.types import Electrode, Pulse

REASONS: tuple[str, ...] = ("energy", "slot_conflict", "unknown_node", "out_of_range")


@dataclass(frozen=True)
class HarvestModel:
    """Power a node harvests and the energy one pulse costs."""

    reference_power_uw: float = 3000.0  # "a few mW delivered at 30 mm depth" (MagNI, facts.md)
    reference_depth_mm: float = 30.0  # MagNI (facts.md)
    depth_decay_mm: float = 10.0  # e-fold loss per 10 mm of tissue (unconfirmed)
    lateral_half_mm: float = 15.0  # half power at 1.5 cm offset ("tolerates 1.5 cm", unconfirmed)
    chip_power_uw: float = 23.7  # MagNI chip draw (facts.md)
    efficiency: float = 0.9  # ~90 % for 1.5–3.5 V stimulation (unconfirmed, facts.md)
    min_voltage_v: float = 1.5  # compliance range 1.5–3.5 V (unconfirmed, facts.md)
    max_voltage_v: float = 3.5
    tissue_resistance_kohm: float = 1.0  # electrode-tissue load (unconfirmed)
    store_capacity_uj: float = 30.0  # ~4.7 uF charged to 3.5 V (unconfirmed)
    # Electrical power the shared transmitter draws while it powers the nodes. Assumption
    # (unconfirmed): magnetoelectric links to mm-scale implants deliver a few mW (MagNI,
    # facts.md) at a few per cent end-to-end efficiency, i.e. ~0.5 W at the transmitter.
    transmitter_power_w: float = 0.5

    def harvested_power_uw(self, placement: NodePlacement) -> float:
        """Net power into the store (harvest minus the chip's own draw), >= -chip draw."""
        depth = math.exp(-(placement.depth_mm - self.reference_depth_mm) / self.depth_decay_mm)
        angle = max(math.cos(math.radians(placement.misalignment_deg)), 0.0)
        lateral = 0.5 ** ((placement.lateral_offset_mm / self.lateral_half_mm) ** 2)
        return self.reference_power_uw * depth * angle * lateral - self.chip_power_uw

    def pulse_energy_uj(self, amplitude_ma: float, pulse_width_us: float) -> float:
        """Energy of one biphasic pulse drawn from the store."""
        volts = min(
            max(amplitude_ma * self.tissue_resistance_kohm, self.min_voltage_v), self.max_voltage_v
        )
        # V x mA = mW; mW x us = nJ; two phases; conversion loss.
        return volts * amplitude_ma * 2.0 * pulse_width_us * 1e-3 / self.efficiency


@dataclass(frozen=True)
class Rejection:
    """A requested pulse the scheduler could not place, and why."""

    t_ns: int
    electrode: int
    node_id: str
    reason: str  # one of REASONS
    detail: str


@dataclass(frozen=True)
class NodeStatus:
    """One node's state for reports and the session log."""

    node_id: str
    electrode: int
    root: str
    side: str
    depth_mm: float
    misalignment_deg: float
    harvested_power_uw: float  # net of the chip's own draw
    energy_uj: float  # in the store


class NodeScheduler:
    """Places requested node pulses on the shared transmitter and tracks each node's energy."""

    def __init__(
        self,
        electrodes: tuple[Electrode, ...],
        placements: tuple[NodePlacement, ...],
        *,
        profile: DeviceProfile = NODES_PROFILE,
        harvest: HarvestModel | None = None,
        slot_us: float = 100.0,
    ) -> None:
        if not (math.isfinite(slot_us) and 1.0 <= slot_us <= 10_000.0):
            raise ValueError(f"slot_us must be in [1, 10000], got {slot_us!r}")
        by_id = {p.node_id: p for p in placements}
        missing = [e.name for e in electrodes if e.name not in by_id]
        if missing:
            raise ValueError(f"placements must cover every node; missing IDs {missing}")
        self.profile = profile
        self.harvest = harvest if harvest is not None else HarvestModel()
        self.slot_ns = int(slot_us * 1000)
        self.node_id = {e.index: e.name for e in electrodes}
        self.offset_ns = {e.index: rank * self.slot_ns for rank, e in enumerate(electrodes)}
        self.power_uw = {
            e.index: self.harvest.harvested_power_uw(by_id[e.name]) for e in electrodes
        }
        self.energy_uj = {e.index: self.harvest.store_capacity_uj for e in electrodes}
        self._energy_t_ns: dict[int, int | None] = {e.index: None for e in electrodes}
        self._busy: list[tuple[int, int]] = []  # recent transmitter slots (start, end)
        self.rejected_by_reason = dict.fromkeys(REASONS, 0)
        self.harvested_uj = {e.index: 0.0 for e in electrodes}  # into the store (capped)
        self.spent_uj = {e.index: 0.0 for e in electrodes}  # drawn by delivered pulses
        self.slots_used = 0  # transmitter slots that carried a pulse

    def energy_at(self, electrode: int, t_ns: int) -> float:
        """Energy in a node's store at t_ns (harvesting since its last update)."""
        last = self._energy_t_ns[electrode]
        stored = self.energy_uj[electrode]
        if last is None or t_ns <= last:
            return stored
        gained = self.power_uw[electrode] * (t_ns - last) * 1e-9  # uW x s = uJ
        return min(max(stored + gained, 0.0), self.harvest.store_capacity_uj)

    def _in_range(self, pulse: Pulse) -> str | None:
        p = self.profile
        a, pw, gap = pulse.amplitude_ma, pulse.pulse_width_us, pulse.interphase_gap_us
        if not (math.isfinite(a) and p.min_amplitude_ma <= a <= p.max_amplitude_ma):
            return f"amplitude_ma {a} outside [{p.min_amplitude_ma}, {p.max_amplitude_ma}]"
        if not (math.isfinite(pw) and p.min_pulse_width_us <= pw <= p.max_pulse_width_us):
            return f"pulse_width_us {pw} outside [{p.min_pulse_width_us}, {p.max_pulse_width_us}]"
        if not (math.isfinite(gap) and 0.0 <= gap <= p.max_interphase_gap_us):
            return f"interphase_gap_us {gap} outside [0, {p.max_interphase_gap_us}]"
        return None

    def place(
        self, pulses: list[Pulse], t_end_ns: int | None = None
    ) -> tuple[list[Pulse], list[Rejection]]:
        """Schedule requests; each placed pulse moves to its node's slot (nominal + offset).

        t_end_ns is the end of the span being emitted (unused: a node's fixed slot offset may
        carry its last pulses just past it).
        """
        placed: list[Pulse] = []
        rejected: list[Rejection] = []

        def reject(pulse: Pulse, reason: str, detail: str) -> None:
            node = self.node_id.get(pulse.electrode, "?")
            rejected.append(Rejection(pulse.t_ns, pulse.electrode, node, reason, detail))
            self.rejected_by_reason[reason] += 1

        requests: list[tuple[int, Pulse]] = []
        for pulse in pulses:
            e = pulse.electrode
            if e not in self.node_id:
                reject(pulse, "unknown_node", f"no node at index {e}")
                continue
            problem = self._in_range(pulse)
            if problem is not None:
                reject(pulse, "out_of_range", problem)
                continue
            requests.append((pulse.t_ns + self.offset_ns[e], pulse))
        requests.sort(key=lambda item: item[0])
        if requests:
            horizon = requests[0][0] - self.slot_ns
            self._busy = [slot for slot in self._busy if slot[1] > horizon]
        for start, pulse in requests:
            e = pulse.electrode
            end = start + self.slot_ns
            if any(s < end and start < b for s, b in self._busy):
                reject(pulse, "slot_conflict", "another node holds the transmitter slot")
                continue
            need = self.harvest.pulse_energy_uj(pulse.amplitude_ma, pulse.pulse_width_us)
            have = self.energy_at(e, start)
            self.harvested_uj[e] += max(have - self.energy_uj[e], 0.0)
            if need > have:
                self.energy_uj[e], self._energy_t_ns[e] = have, start
                reject(pulse, "energy", f"needs {need:.3g} uJ, store holds {have:.3g} uJ")
                continue
            self.energy_uj[e], self._energy_t_ns[e] = have - need, start
            self.spent_uj[e] += need
            self.slots_used += 1
            self._busy.append((start, end))
            if len(self._busy) > 64:
                self._busy = self._busy[-32:]
            placed.append(
                pulse
                if start == pulse.t_ns
                else Pulse(
                    start, e, pulse.amplitude_ma, pulse.pulse_width_us, pulse.interphase_gap_us
                )
            )
        return placed, rejected
