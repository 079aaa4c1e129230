"""The lsl backend: publishes every delivered pulse on a Lab Streaming Layer outlet, so that
any recorder (LabRecorder, the session's own inlet) sees the stimulation.

Stream: type "Stim", irregular rate, float64 channels electrode, amplitude_ma,
pulse_width_us, interphase_gap_us; each sample is stamped with the pulse onset on the LSL
clock (session clock + the offset fixed at construction).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from openbsi.stimulation.backends.base import Stimulator, Supervisor
from openbsi.stimulation.backends.registry import register_backend
from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.profiles import PADDLE_PROFILE
from openbsi.stimulation.types import Electrode, Pulse

CHANNELS: tuple[str, ...] = ("electrode", "amplitude_ma", "pulse_width_us", "interphase_gap_us")


@register_backend("lsl")
class LslStimulator(Stimulator):
    """Publishes pulses as an LSL stream (device limits: the profile given, paddle default)."""

    default_profile = PADDLE_PROFILE

    def __init__(
        self,
        supervisor: Supervisor,
        electrodes: tuple[Electrode, ...] = PADDLE_16,
        *,
        stream_name: str = "OpenBSI-Stim",
        source_id: str = "openbsi-stim",
        clock_offset_s: float | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(supervisor, electrodes, **kw)
        from mne_lsl.lsl import StreamInfo, StreamOutlet, local_clock  # lazy: optional at import

        info = StreamInfo(stream_name, "Stim", len(CHANNELS), 0.0, "float64", source_id)
        info.set_channel_names(list(CHANNELS))
        self._outlet = StreamOutlet(info)
        # Session clock t = 0 maps to this LSL time.
        self.clock_offset_s = local_clock() if clock_offset_s is None else float(clock_offset_s)
        self.samples_pushed = 0

    def _emit(self, pulses: list[Pulse]) -> None:
        data = np.array(
            [[p.electrode, p.amplitude_ma, p.pulse_width_us, p.interphase_gap_us] for p in pulses],
            dtype=np.float64,
        )
        stamps = np.array([p.t_ns * 1e-9 + self.clock_offset_s for p in pulses])
        self._outlet.push_chunk(data, stamps)
        self.samples_pushed += len(pulses)

    def close(self) -> None:
        outlet, self._outlet = self._outlet, None
        del outlet
