"""Stimulation: electrodes, pulses, spatiotemporal programs, the mapper and the backends."""

from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.mapper import Mapper
from openbsi.stimulation.program import (
    Program,
    StimStep,
    default_paddle_program,
    load_program,
    save_program,
)
from openbsi.stimulation.types import ChannelCommand, Electrode, Pulse, StimCommand

__all__ = [
    "PADDLE_16",
    "ChannelCommand",
    "Electrode",
    "Mapper",
    "Program",
    "Pulse",
    "StimCommand",
    "StimStep",
    "default_paddle_program",
    "load_program",
    "save_program",
]
