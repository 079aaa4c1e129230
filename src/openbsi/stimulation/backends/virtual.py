"""The virtual backend: hands checked pulses to the virtual patient (or any callable)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openbsi.stimulation.backends.base import Stimulator, Supervisor
from openbsi.stimulation.backends.registry import register_backend
from openbsi.stimulation.energy import IPG_EFFICIENCY, IPG_LOAD_OHM, ipg_energy_j, pulse_energy_j
from openbsi.stimulation.profiles import PADDLE_PROFILE
from openbsi.stimulation.types import Electrode, Pulse


@register_backend("virtual")
class VirtualStimulator(Stimulator):
    """Feeds pulses to `sink` (e.g. the virtual patient's spinal cord); paddle hard limits."""

    default_profile = PADDLE_PROFILE

    def __init__(
        self,
        supervisor: Supervisor,
        electrodes: tuple[Electrode, ...],
        sink: Callable[[list[Pulse]], None] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(supervisor, electrodes, sink=sink, **kw)
        self._pulse_energy_j = 0.0

    def _emit(self, pulses: list[Pulse]) -> None:
        """Only the energy estimate (Stimulator hands delivered pulses to the sink)."""
        self._pulse_energy_j += pulse_energy_j(pulses, IPG_LOAD_OHM, IPG_EFFICIENCY)

    def delivery_summary(self, elapsed_s: float | None = None) -> dict[str, Any]:
        """Shared figures plus an IPG battery estimate (paddle hard limits by default)."""
        return super().delivery_summary(elapsed_s) | {
            "energy_j": ipg_energy_j(self._pulse_energy_j, elapsed_s)
        }
