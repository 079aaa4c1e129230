"""Spatiotemporal stimulation programs: for each decoded state, which electrodes fire, when, how.

A program maps each state of openbsi.states.STATES to a tuple of StimSteps. Each step names a
set of electrodes stimulated together with one waveform, starting `onset_ms` after the state
began and lasting `duration_ms` (None: for as long as the state holds), repeated every
`period_ms` while the state holds when that is set (a stepping cycle). The decoded amplitude
a in [0, 1] scales a step's amplitude by min_amplitude_fraction + (1 - min) * a, unless the
step is not `scaled` (e.g. tonic stimulation that must not fade with the decoded effort).

File format: YAML, see docs/programs.md (load_program / save_program).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from openbsi.states import STATES
from openbsi.stimulation.electrodes import PADDLE_16, find_electrode
from openbsi.stimulation.layouts import NodeSite, default_layout, sited_layout
from openbsi.stimulation.types import Electrode

BACKEND_KINDS: tuple[str, ...] = ("paddle", "nodes", "transcutaneous")
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class StimStep:
    """One spatiotemporal element of a state's program."""

    electrodes: tuple[int, ...]  # indices into the electrode layout
    amplitude_ma: float  # at full decoded amplitude (1.0)
    pulse_width_us: float  # per phase
    frequency_hz: float
    onset_ms: float = 0.0  # after the state's onset
    duration_ms: float | None = None  # None = for as long as the state holds
    interphase_gap_us: float = 20.0
    period_ms: float | None = None  # None = once; else repeats every period_ms from onset_ms
    scaled: bool = True  # False: amplitude_ma whatever the decoded amplitude

    def active(self, elapsed_ms: float) -> bool:
        """Whether the step fires `elapsed_ms` after its state began."""
        if elapsed_ms < self.onset_ms:
            return False
        if self.duration_ms is None:
            return True
        since_ms = elapsed_ms - self.onset_ms
        if self.period_ms is not None and self.period_ms > 0:
            since_ms %= self.period_ms
        return since_ms < self.duration_ms


@dataclass(frozen=True)
class Program:
    """A named set of per-state stimulation steps for one kind of stimulator."""

    name: str
    backend: str  # "paddle" | "nodes" | "transcutaneous"
    states: dict[str, tuple[StimStep, ...]] = field(default_factory=dict)
    min_amplitude_fraction: float = 0.3
    description: str = ""
    # The decoder's states this program maps by name (rest first); the leg set by default.
    state_set: tuple[str, ...] = STATES
    # nodes only: the planned layout the electrode indices refer to (openbsi nodes plan);
    # empty = the path's default layout.
    node_sites: tuple[NodeSite, ...] = ()

    def __post_init__(self) -> None:
        if self.backend not in BACKEND_KINDS:
            raise ValueError(f"backend must be one of {BACKEND_KINDS}, got {self.backend!r}")
        names = self.state_set
        if not (2 <= len(names) <= 64 and len(set(names)) == len(names) and names[0] == "rest"):
            raise ValueError(f"state_set must be 2-64 distinct names, rest first, got {names!r}")
        for state in self.states:
            if state not in names:
                raise ValueError(f"states keys must be in {names}, got {state!r}")
        fraction = self.min_amplitude_fraction
        if not (math.isfinite(fraction) and 0.0 <= fraction <= 1.0):
            raise ValueError(f"min_amplitude_fraction must be in [0, 1], got {fraction!r}")
        if self.node_sites and self.backend != "nodes":
            raise ValueError(f"layout (node sites) needs backend 'nodes', got {self.backend!r}")

    def steps(self, state: str) -> tuple[StimStep, ...]:
        """The steps of `state` (empty when the program does not stimulate in it)."""
        return self.states.get(state, ())

    def amplitude_scale(self, amplitude: float) -> float:
        """Factor applied to every step's amplitude_ma for decoded amplitude a (clipped)."""
        a = 0.0 if not math.isfinite(amplitude) else min(max(amplitude, 0.0), 1.0)
        return self.min_amplitude_fraction + (1.0 - self.min_amplitude_fraction) * a

    def electrodes_used(self) -> tuple[int, ...]:
        """Every electrode index any state uses, sorted."""
        used = {e for steps in self.states.values() for step in steps for e in step.electrodes}
        return tuple(sorted(used))


def program_layout(program: Program, backend: str | None = None) -> tuple[Electrode, ...]:
    """The electrodes a program's indices refer to: its planned node layout when it carries
    one, else the default layout of `backend` (default: the program's)."""
    if program.node_sites and (backend or program.backend) == "nodes":
        return sited_layout(program.node_sites)[0]
    return default_layout(backend or program.backend)


# Typical EES settings. Conventional spinal cord stimulation: 30–120 Hz, 3.5–8.5 mA,
# 100–500 us (facts.md, "Stimulation safety"); the BSI's own settings were set per participant
# and not published as ranges (Lorach 2023), so these are reasonable defaults, not facts.
_EES_FREQUENCY_HZ = 40.0
_EES_PULSE_WIDTH_US = 300.0
_HIP_TRAIN_MS = 500.0  # "500 ms trains on L1 for hip flexion" (Wagner 2018 via facts.md)
# The stepping cycle of a decoded hip intention (modelling defaults for the virtual patient,
# tuned on its MyoLeg body; docs/virtual-patient.md): one swing per second, alternating legs.
_STEP_PERIOD_MS = 2000.0
_PUSH_OFF_MS, _PUSH_OFF_MA = 300.0, 3.5  # S1 of the swing leg at the end of its stance
_SWING_L1_MA, _SWING_L4_MA = 6.0, 2.3  # hip flexion; low L4 is tibialis-anterior selective
_STANCE_L3_MS, _STANCE_L3_MA = 400.0, 3.0  # weight acceptance of the leg left standing
_TONIC_L3_MA = 2.0  # at rest, both sides, not scaled by the decoded effort


def default_paddle_program(electrodes: tuple[Electrode, ...] = PADDLE_16) -> Program:
    """Walking program for the 16-contact paddle (Wagner 2018 / Lorach 2023 hotspots, facts.md).

    A decoded hip intention steps every second while it holds, alternating legs, led by the
    decoded side: S1 push-off of the swing leg, then its 500 ms L1 train with low L4, while L3
    of the stance leg accepts the weight. Knee extension -> L3, ankle / propulsion -> S1;
    rest -> tonic L3 on both sides. `stimulation/examples/paddle-walking.yaml` is this program.
    """

    def at(side: str, root: str) -> int:
        return find_electrode(electrodes, side, root).index

    def step(root_side: tuple[str, str], amplitude_ma: float, **kw: Any) -> StimStep:
        electrode = at(root_side[1], root_side[0])
        return StimStep((electrode,), amplitude_ma, _EES_PULSE_WIDTH_US, _EES_FREQUENCY_HZ, **kw)

    def swing(side: str, other: str, start_ms: float) -> tuple[StimStep, ...]:
        cycle = {"period_ms": _STEP_PERIOD_MS}
        flexion_ms = start_ms + _PUSH_OFF_MS
        train = {"onset_ms": flexion_ms, "duration_ms": _HIP_TRAIN_MS, **cycle}
        return (
            step(("S1", side), _PUSH_OFF_MA, onset_ms=start_ms, duration_ms=_PUSH_OFF_MS, **cycle),
            step(("L1", side), _SWING_L1_MA, **train),
            step(("L4", side), _SWING_L4_MA, **train),
            step(
                ("L3", other),
                _STANCE_L3_MA,
                onset_ms=flexion_ms,
                duration_ms=_STANCE_L3_MS,
                **cycle,
            ),
        )

    tonic = StimStep(
        (at("left", "L3"), at("right", "L3")),
        _TONIC_L3_MA,
        _EES_PULSE_WIDTH_US,
        _EES_FREQUENCY_HZ,
        scaled=False,
    )
    states: dict[str, tuple[StimStep, ...]] = {"rest": (tonic,)}
    for side, other in (("left", "right"), ("right", "left")):
        half_ms = _STEP_PERIOD_MS / 2
        states[f"{side}_hip"] = swing(side, other, 0.0) + swing(other, side, half_ms)
    for side in ("left", "right"):
        states[f"{side}_knee"] = (step(("L3", side), 5.0),)
        states[f"{side}_ankle"] = (step(("S1", side), 5.5),)
    return Program(
        name="paddle-walking",
        backend="paddle",
        states=states,
        description=(
            "Wagner 2018 / Lorach 2023 hotspots; a decoded hip intention steps every second "
            "(S1 push-off, then L1 + low L4 with stance-side L3), alternating sides, led by "
            "the decoded side"
        ),
    )


# ---------------------------------------------------------------------------------------------
# YAML files (schema in docs/programs.md; the loader: program_file.py)


def program_to_dict(program: Program) -> dict[str, Any]:
    """Plain data (the YAML document) for a program."""
    return {
        "schema_version": SCHEMA_VERSION,
        "name": program.name,
        "backend": program.backend,
        "description": program.description,
        "min_amplitude_fraction": float(program.min_amplitude_fraction),
        **({} if program.state_set == STATES else {"state_set": list(program.state_set)}),
        **({"layout": [_site_dict(s) for s in program.node_sites]} if program.node_sites else {}),
        "states": {
            state: [
                {
                    "electrodes": [int(e) for e in step.electrodes],
                    "amplitude_ma": float(step.amplitude_ma),
                    "pulse_width_us": float(step.pulse_width_us),
                    "frequency_hz": float(step.frequency_hz),
                    "onset_ms": float(step.onset_ms),
                    "duration_ms": None if step.duration_ms is None else float(step.duration_ms),
                    "interphase_gap_us": float(step.interphase_gap_us),
                }
                | ({} if step.period_ms is None else {"period_ms": float(step.period_ms)})
                | ({} if step.scaled else {"scaled": False})
                for step in steps
            ]
            for state, steps in program.states.items()
        },
    }


def _site_dict(site: NodeSite) -> dict[str, Any]:
    return {
        "id": site.node_id,
        "side": site.side,
        "root": site.root,
        "y_mm": float(site.y_mm),
        "depth_mm": float(site.depth_mm),
        "lateral_offset_mm": float(site.lateral_offset_mm),
        "misalignment_deg": float(site.misalignment_deg),
        "root_gap_mm": float(site.root_gap_mm),
    }


def program_from_dict(data: Any, *, source: str = "<program>") -> Program:
    """Parse the YAML document's data (the hardened loader, program_file.py); an InputError
    (a ValueError) naming the offending field."""
    from openbsi.stimulation.program_file import program_from_data

    return program_from_data(data, source=source)


def dump_program(program: Program) -> str:
    """The program as a YAML document."""
    return yaml.safe_dump(program_to_dict(program), sort_keys=False, default_flow_style=None)


def load_program(path: str | Path) -> Program:
    """Read a program YAML file (schema: docs/programs.md) through the hardened loader: size
    limit, strict YAML, bounded fields; an InputError naming file, field, limit and value."""
    from openbsi.stimulation.program_file import load_program_file

    return load_program_file(path)


def save_program(program: Program, path: str | Path) -> None:
    """Write a program YAML file that load_program reads back equal."""
    Path(path).write_text(dump_program(program), encoding="utf-8")
