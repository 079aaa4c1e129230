"""Stimulation: electrodes, pulses, spatiotemporal programs, the mapper and the backends."""

from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.types import ChannelCommand, Electrode, Pulse, StimCommand

__all__ = ["PADDLE_16", "ChannelCommand", "Electrode", "Pulse", "StimCommand"]
