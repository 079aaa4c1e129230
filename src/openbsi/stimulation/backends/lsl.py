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


def make_outlet(stream_name: str = "OpenBSI-Stim", source_id: str = "openbsi-stim") -> Any:
    """A new LSL outlet for delivered pulses."""
    from mne_lsl.lsl import StreamInfo, StreamOutlet

    info = StreamInfo(stream_name, "Stim", len(CHANNELS), 0.0, "float64", source_id)
    info.set_channel_names(list(CHANNELS))
    return StreamOutlet(info)


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
        outlet: Any = None,
        **kw: Any,
    ) -> None:
        super().__init__(supervisor, electrodes, **kw)
        from mne_lsl.lsl import local_clock  # lazy: liblsl loads only when this backend is used

        # An existing outlet may be shared (e.g. by successive sessions of a benchmark).
        self._outlet = outlet if outlet is not None else make_outlet(stream_name, source_id)
        # Session clock t = 0 maps to this LSL time.
        self.clock_offset_s = local_clock() if clock_offset_s is None else float(clock_offset_s)
        self.samples_pushed = 0

    def _emit(self, pulses: list[Pulse]) -> None:
        if len(pulses) == 1:
            p = pulses[0]
            self._outlet.push_sample(
                np.array([p.electrode, p.amplitude_ma, p.pulse_width_us, p.interphase_gap_us]),
                p.t_ns * 1e-9 + self.clock_offset_s,
            )
            self.samples_pushed += 1
            return
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
