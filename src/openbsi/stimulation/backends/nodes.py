"""The nodes backend: N battery-free magnetoelectric stimulators on one shared transmitter.

Each node is addressed by its unique ID (Electrode.name); the scheduler (node_network.py)
places requested pulses on the transmitter, tracks every node's harvested energy and reports
each pulse it cannot deliver with its reason. Everything it places still passes the safety
supervisor's per-pulse gate before it is emitted.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from openbsi.stimulation.backends.base import Stimulator, Supervisor
from openbsi.stimulation.backends.registry import register_backend
from openbsi.stimulation.layouts import NodePlacement, node_layout, node_placements
from openbsi.stimulation.node_network import HarvestModel, NodeScheduler, NodeStatus, Rejection
from openbsi.stimulation.profiles import NODES_PROFILE
from openbsi.stimulation.types import Electrode, Pulse


@register_backend("nodes")
class NodesStimulator(Stimulator):
    """Magnetoelectric node network (device limits: NODES_PROFILE, MagNI)."""

    default_profile = NODES_PROFILE

    def __init__(
        self,
        supervisor: Supervisor,
        electrodes: tuple[Electrode, ...] | None = None,
        *,
        placements: tuple[NodePlacement, ...] | None = None,
        harvest: HarvestModel | None = None,
        rng: np.random.Generator | None = None,
        slot_us: float = 100.0,
        history: int = 100_000,
        **kw: Any,
    ) -> None:
        layout = electrodes if electrodes is not None else node_layout(6)
        super().__init__(supervisor, layout, **kw)
        ids = [e.name for e in layout]
        if len(set(ids)) != len(ids):
            raise ValueError(f"node IDs (Electrode.name) must be unique, got {ids}")
        self.placements = placements if placements is not None else node_placements(layout, rng)
        assert self.profile is not None
        self.scheduler = NodeScheduler(
            layout,
            self.placements,
            profile=self.profile,
            harvest=harvest,
            slot_us=slot_us,
        )
        self.rejections: deque[Rejection] = deque(maxlen=history)
        self.emitted: deque[tuple[str, Pulse]] = deque(maxlen=history)

    def node_status(self, t_ns: int) -> tuple[NodeStatus, ...]:
        """Each node's ID, placement, harvested power and stored energy at t_ns."""
        by_id = {p.node_id: p for p in self.placements}
        return tuple(
            NodeStatus(
                node_id=e.name,
                electrode=e.index,
                root=e.root,
                side=e.side,
                depth_mm=by_id[e.name].depth_mm,
                misalignment_deg=by_id[e.name].misalignment_deg,
                harvested_power_uw=self.scheduler.power_uw[e.index],
                energy_uj=self.scheduler.energy_at(e.index, t_ns),
            )
            for e in self.electrodes
        )

    @property
    def pulses_unscheduled(self) -> int:
        """Requested pulses the scheduler could not place (all reasons)."""
        return sum(self.scheduler.rejected_by_reason.values())

    def _schedule(self, pulses: list[Pulse], t_end_ns: int) -> list[Pulse]:
        placed, rejected = self.scheduler.place(pulses, t_end_ns)
        self.rejections.extend(rejected)
        for rejection in rejected:
            self.refuse(rejection.reason)
        return placed

    def delivery_summary(self, elapsed_s: float | None = None) -> dict[str, Any]:
        """Shared figures plus, per node, harvested and spent energy; transmitter duty and
        energy (it powers the nodes for the whole elapsed time)."""
        out = super().delivery_summary(elapsed_s)
        sched = self.scheduler
        t_ns = self.clock_ns or 0
        out["nodes"] = [
            {
                "id": status.node_id,
                "root": status.root,
                "side": status.side,
                "harvest_uw": status.harvested_power_uw,
                "harvested_uj": sched.harvested_uj[status.electrode],
                "spent_uj": sched.spent_uj[status.electrode],
                "stored_uj": status.energy_uj,
            }
            for status in self.node_status(t_ns)
        ]
        if elapsed_s is None or elapsed_s <= 0:
            out["transmitter_duty"] = None
            out["energy_j"] = None
        else:
            out["transmitter_duty"] = sched.slots_used * sched.slot_ns * 1e-9 / elapsed_s
            out["energy_j"] = sched.harvest.transmitter_power_w * elapsed_s
        return out

    def _emit(self, pulses: list[Pulse]) -> None:
        # One addressed trigger per pulse on the shared transmitter.
        node_id = self.scheduler.node_id
        self.emitted.extend((node_id[p.electrode], p) for p in pulses)
