"""Stimulation: electrodes, pulses, spatiotemporal programs, the mapper and the backends."""

from openbsi.stimulation.backends import Stimulator, create_stimulator, register_backend
from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.layouts import default_layout, node_layout, transcutaneous_layout
from openbsi.stimulation.mapper import Mapper
from openbsi.stimulation.profiles import DeviceProfile, get_profile
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
    "DeviceProfile",
    "Electrode",
    "Mapper",
    "Program",
    "Pulse",
    "StimCommand",
    "StimStep",
    "Stimulator",
    "create_stimulator",
    "default_layout",
    "default_paddle_program",
    "get_profile",
    "load_program",
    "node_layout",
    "register_backend",
    "save_program",
    "transcutaneous_layout",
]
