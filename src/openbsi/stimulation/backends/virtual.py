"""The virtual backend: hands checked pulses to the virtual patient (or any callable)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openbsi.stimulation.backends.base import Stimulator, Supervisor
from openbsi.stimulation.backends.registry import register_backend
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

    def _emit(self, pulses: list[Pulse]) -> None:
        """Nothing besides the sink (Stimulator hands delivered pulses to it)."""
