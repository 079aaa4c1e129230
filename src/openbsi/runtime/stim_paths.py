"""The three stimulation paths a session can drive, set up the same way.

`--stimulator paddle|nodes|transcutaneous` (and `virtual`, the paddle's layout on the virtual
backend): each path has its electrode layout, device profile, safety limits (no looser than
the profile), walking program and backend; the virtual patient feels the delivered pulses
through that path's coupling to the roots (patient/paths.py). Nodes get seeded placements
(depth under the transmitter, tilt, gap to the root) shared by the backend and the patient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from openbsi.safety.limits import SafetyLimits
from openbsi.safety.program_check import validate_program
from openbsi.stimulation.backends.base import Stimulator
from openbsi.stimulation.backends.registry import create_stimulator
from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.examples import example_program
from openbsi.stimulation.layouts import (
    NodePlacement,
    node_layout,
    node_placements,
    sited_layout,
    transcutaneous_layout,
)
from openbsi.stimulation.profiles import get_profile
from openbsi.stimulation.program import Program, load_program
from openbsi.stimulation.types import Electrode

PATH_OF_STIMULATOR = {
    "virtual": "paddle",
    "paddle": "paddle",
    "lsl": "paddle",
    "link": "paddle",
    "nodes": "nodes",
    "transcutaneous": "transcutaneous",
}
NODE_PLACEMENT_SEED = 0x0DE5  # the implanted nodes belong to the patient, not the session
LUMBAR = "lumbar"  # the legs' transcutaneous placement (cervical is the upper-limb path's)
# Ramp-up limit of the surface path: the paddle's 50 mA/s brings its walking bursts
# (2.3-6 mA) to their amplitude within about one 100 ms tick; 1200 mA/s does the same for the
# surface bursts (85-110 mA), so a 300 ms push-off is not spent ramping (assumption: the
# same time to reach a burst's amplitude; decreases stay immediate; the backend's own 5 s
# session ramp-in is kept).
SURFACE_RAMP_MA_PER_S = 1200.0


@dataclass(frozen=True)
class StimPath:
    """What one path needs: layout, limits, placements (nodes) and its program."""

    path: str
    electrodes: tuple[Electrode, ...]
    limits: SafetyLimits
    placements: tuple[NodePlacement, ...] | None = None
    # Subtract stimulation artifacts from the ECoG (features/artifacts.py): surface pulses of
    # tens of mA x 1 ms carry ~30x the paddle's charge per pulse, and their artifacts alone
    # made the quality gate refuse a third of the decodes (compare paths, measured).
    artifact_removal: bool = False

    def load_program(self, program_file: Path | None) -> Program:
        """The file's program, validated for this path (every violation named), or the
        path's walking example."""
        program = example_program(self.path) if program_file is None else load_program(program_file)
        violations = validate_program(program, backend=self.path, electrodes=self.electrodes)
        if violations:
            listed = "; ".join(f"{v.field}: {v.message}" for v in violations)
            raise ValueError(f"program {program_file} is not valid for the {self.path}: {listed}")
        return program

    def make_stimulator(
        self, kind: str, supervisor, sink: Callable | None, stream_name: str = ""
    ) -> Stimulator:
        """The backend of `kind` guarding this layout; delivered pulses go to `sink`."""
        common = {"supervisor": supervisor, "electrodes": self.electrodes, "sink": sink}
        if kind == "lsl":
            return create_stimulator("lsl", stream_name=stream_name, **common)
        if kind == "nodes":
            return create_stimulator("nodes", placements=self.placements, **common)
        if kind == "transcutaneous":
            return create_stimulator("transcutaneous", placement=LUMBAR, **common)
        return create_stimulator("virtual" if kind == "virtual" else "paddle", **common)


def stim_path(stimulator: str, program_file: Path | None = None) -> StimPath:
    """The path behind a --stimulator value (kind[:NAME]); for nodes, a program file that
    names its planned layout (`openbsi nodes plan`) brings that layout and its placements."""
    kind = stimulator.partition(":")[0]
    try:
        path = PATH_OF_STIMULATOR[kind]
    except KeyError:
        raise ValueError(
            f"--stimulator must be one of {sorted(PATH_OF_STIMULATOR)}, got {stimulator!r}"
        ) from None
    if path == "paddle":
        return StimPath(path, PADDLE_16, SafetyLimits())
    limits = SafetyLimits.from_profile(get_profile(path))
    if path == "transcutaneous":
        limits = replace(limits, max_ramp_up_ma_per_s=SURFACE_RAMP_MA_PER_S)
        return StimPath(path, transcutaneous_layout(LUMBAR), limits, artifact_removal=True)
    sites = load_program(program_file).node_sites if program_file is not None else ()
    if sites:
        layout, placements = sited_layout(sites)
        return StimPath(path, layout, limits, placements)
    layout = node_layout(6)
    placements = node_placements(layout, np.random.default_rng(NODE_PLACEMENT_SEED))
    return StimPath(path, layout, limits, placements)
