"""Example programs for the three stimulator kinds (`openbsi program example`)."""

from __future__ import annotations

from pathlib import Path

from openbsi.states import STATES
from openbsi.stimulation.electrodes import find_electrode
from openbsi.stimulation.layouts import node_layout, transcutaneous_layout
from openbsi.stimulation.program import BACKEND_KINDS, Program, StimStep, default_paddle_program

# The paddle example as a file (equal to default_paddle_program(); schema in docs/programs.md).
WALKING_PROGRAM_FILE = Path(__file__).parent / "examples" / "paddle-walking.yaml"


def nodes_program() -> Program:
    """Hotspot program on the default 6-node network (L1, L3, S1 on each side).

    Same map as the paddle (Wagner 2018 via facts.md) within the MagNI range: 0.05–1.5 mA,
    64–512 us, 0–200 Hz (facts.md).
    """
    layout = node_layout(6)

    def at(side: str, root: str) -> int:
        return find_electrode(layout, side, root).index

    def step(indices: tuple[int, ...], amplitude_ma: float, **kw: object) -> StimStep:
        return StimStep(indices, amplitude_ma, 200.0, 40.0, **kw)  # type: ignore[arg-type]

    states: dict[str, tuple[StimStep, ...]] = {
        "rest": (step((at("left", "L3"), at("right", "L3")), 0.4),),
    }
    for side in ("left", "right"):
        states[f"{side}_hip"] = (step((at(side, "L1"),), 1.0, duration_ms=500.0),)
        states[f"{side}_knee"] = (step((at(side, "L3"),), 1.0),)
        states[f"{side}_ankle"] = (step((at(side, "S1"),), 1.1),)
    return Program(
        name="nodes-hotspots",
        backend="nodes",
        states=states,
        description="6 magnetoelectric nodes: hip L1, knee L3, ankle S1; tonic L3 at rest",
    )


def transcutaneous_program(amplitude_ma: float = 90.0) -> Program:
    """Cervical C3-4 + C6-7, 1 ms envelopes at 30 Hz with a 10 kHz carrier, 80–120 mA
    (ARC-EX predecessor protocol, facts.md). Tonic: the same in every state, not modulated."""
    layout = transcutaneous_layout("cervical")
    both = tuple(e.index for e in layout)
    step = StimStep(both, amplitude_ma, 1000.0, 30.0, interphase_gap_us=0.0)
    return Program(
        name="transcutaneous-cervical",
        backend="transcutaneous",
        states={state: (step,) for state in STATES},
        min_amplitude_fraction=1.0,
        description="ARC-EX style tonic cervical stimulation (C3-4, C6-7)",
    )


def example_program(backend: str) -> Program:
    """The example program of a backend kind."""
    if backend == "paddle":
        return default_paddle_program()
    if backend == "nodes":
        return nodes_program()
    if backend == "transcutaneous":
        return transcutaneous_program()
    raise ValueError(f"backend must be one of {BACKEND_KINDS}, got {backend!r}")
