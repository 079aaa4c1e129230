"""The paddle backend: an implanted pulse generator with a 16-electrode lumbosacral paddle.

No hardware driver ships with OpenBSI; this backend keeps what it would have sent (a bounded
history) so that sessions and tests can inspect it. A driver would override _emit().
"""

from __future__ import annotations

from collections import deque
from typing import Any

from openbsi.stimulation.backends.base import Stimulator, Supervisor
from openbsi.stimulation.backends.registry import register_backend
from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.energy import IPG_EFFICIENCY, IPG_LOAD_OHM, ipg_energy_j, pulse_energy_j
from openbsi.stimulation.profiles import PADDLE_PROFILE
from openbsi.stimulation.types import Electrode, Pulse


@register_backend("paddle")
class PaddleStimulator(Stimulator):
    """16-contact IPG (device limits: PADDLE_PROFILE)."""

    default_profile = PADDLE_PROFILE

    def __init__(
        self,
        supervisor: Supervisor,
        electrodes: tuple[Electrode, ...] = PADDLE_16,
        *,
        history: int = 100_000,
        **kw: Any,
    ) -> None:
        super().__init__(supervisor, electrodes, **kw)
        if history < 0:
            raise ValueError(f"history must be >= 0 pulses, got {history}")
        self.emitted: deque[Pulse] = deque(maxlen=history)
        self._pulse_energy_j = 0.0

    def _emit(self, pulses: list[Pulse]) -> None:
        self.emitted.extend(pulses)
        self._pulse_energy_j += pulse_energy_j(pulses, IPG_LOAD_OHM, IPG_EFFICIENCY)

    def delivery_summary(self, elapsed_s: float | None = None) -> dict[str, Any]:
        """Shared figures plus the IPG battery energy estimate (stimulation.energy)."""
        return super().delivery_summary(elapsed_s) | {
            "energy_j": ipg_energy_j(self._pulse_energy_j, elapsed_s)
        }
