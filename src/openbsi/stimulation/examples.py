"""Example programs for the three stimulator kinds (`openbsi program example`)."""

from __future__ import annotations

from pathlib import Path

from openbsi.states import STATES
from openbsi.stimulation.electrodes import find_electrode
from openbsi.stimulation.layouts import node_layout, transcutaneous_layout
from openbsi.stimulation.program import BACKEND_KINDS, Program, StimStep, default_paddle_program

# The paddle example as a file (equal to default_paddle_program(); schema in docs/programs.md).
WALKING_PROGRAM_FILE = Path(__file__).parent / "examples" / "paddle-walking.yaml"


def _walking_states(
    left: dict[str, int],
    right: dict[str, int],
    make: object,
    amplitudes: dict[str, float],
) -> dict[str, tuple[StimStep, ...]]:
    """The walking map of paddle-walking.yaml on any layout: a decoded hip intention steps every
    second while it holds (period 2000 ms), led by the decoded side: push-off of the swing leg
    (S1, 300 ms), its hip-flexion train (L1, 500 ms) while the stance leg's L3 accepts the
    weight (400 ms); knee -> L3, ankle -> S1; tonic L3 at rest (not scaled). Wagner 2018 /
    Lorach 2023 hotspots (facts.md); amplitudes and timing are modelling defaults."""
    a = amplitudes
    hz = {"push_off": a.get("push_off_hz", 40.0), "hip": a.get("hip_hz", 40.0)}

    def cycle(lead: dict[str, int], other: dict[str, int]) -> tuple[StimStep, ...]:
        steps = []
        for offset, swing, stance in ((0.0, lead, other), (1000.0, other, lead)):
            timing = {"period_ms": 2000.0}
            push = {"onset_ms": offset, "duration_ms": 300.0, "frequency_hz": hz["push_off"]}
            swing_kw = {"onset_ms": offset + 300.0, "duration_ms": 500.0, "frequency_hz": hz["hip"]}
            steps.append(make((swing["S1"],), a["push_off"], **push, **timing))
            steps.append(make((swing["L1"],), a["hip"], **swing_kw, **timing))
            steps.append(
                make(
                    (stance["L3"],),
                    a["stance"],
                    onset_ms=offset + 300.0,
                    duration_ms=400.0,
                    **timing,
                )
            )
        return tuple(steps)

    return {
        "rest": (make((left["L3"], right["L3"]), a["rest"], scaled=False),),
        "left_hip": cycle(left, right),
        "right_hip": cycle(right, left),
        "left_knee": (make((left["L3"],), a["knee"]),),
        "right_knee": (make((right["L3"],), a["knee"]),),
        "left_ankle": (make((left["S1"],), a["ankle"]),),
        "right_ankle": (make((right["S1"],), a["ankle"]),),
    }


def nodes_program() -> Program:
    """Walking program on the default 6-node network (L1, L3, S1 on each side): the paddle's
    walking map (paddle-walking.yaml) within the MagNI range, 0.05-1.5 mA, 64-512 us,
    0-200 Hz (facts.md); 380 us (1.5 mA stays under 30 uC/cm^2 on 2 mm^2). A node sits
    closer to its root than a paddle contact (patient/paths.py) but reaches one root where a
    contact reaches two: 1.5 mA at 60 Hz on the phasic trains (modelling defaults)."""
    layout = node_layout(6)
    sides = {
        side: {root: find_electrode(layout, side, root).index for root in ("L1", "L3", "S1")}
        for side in ("left", "right")
    }

    def make(indices: tuple[int, ...], amplitude_ma: float, **kw: object) -> StimStep:
        # A node recruits one root where a paddle contact reaches two: 60 Hz on the phasic
        # (push-off, swing) trains makes up the drive (within 30-120 Hz SCS, facts.md).
        hz = float(kw.pop("frequency_hz", 40.0))  # type: ignore[arg-type]
        return StimStep(indices, amplitude_ma, 380.0, hz, **kw)  # type: ignore[arg-type]

    amplitudes = {
        "push_off": 1.5,
        "hip": 1.5,
        "stance": 1.2,
        "rest": 0.8,
        "knee": 1.2,
        "ankle": 1.3,
        "push_off_hz": 60.0,
        "hip_hz": 60.0,
    }
    return Program(
        name="nodes-walking",
        backend="nodes",
        states=_walking_states(sides["left"], sides["right"], make, amplitudes),
        description="6 magnetoelectric nodes: the paddle's walking map (S1 push-off, L1 swing, "
        "stance-side L3, every second while hip is decoded); tonic L3 at rest",
    )


def transcutaneous_walking_program(
    push_off_ma: float = 110.0,
    flexion_ma: float = 85.0,
    stance_ma: float = 60.0,
    rest_ma: float = 30.0,
) -> Program:
    """Lumbar transcutaneous walking program on paravertebral cathodes at T10-T11 (over the
    L1 segment) and L1-L2 (over L5-S1), one each side: the paddle's walking map
    (_walking_states) with the swing leg's L1-L2 cathode for push-off, its T10-T11 cathode
    for hip flexion and the stance leg's T10-T11 cathode for weight acceptance; 1 ms
    envelopes at 30 Hz with the 10 kHz carrier (facts.md). A surface field reaches both legs,
    so each burst also drives the other leg, less. Amplitudes: first root responses need
    ~50 mA here (patient/paths.py), the bursts 85-110 mA, inside the 80-120 mA of the ARC-EX
    predecessor protocol (facts.md); the tonic rest level (30 mA) stays below the motor
    pools' threshold. Amplitudes and timing: modelling defaults, chosen on the virtual
    patient (docs/virtual-patient.md)."""
    layout = transcutaneous_layout("lumbar")
    sides = {
        side: {
            "L1": find_electrode(layout, side, "T10-T11").index,
            "L3": find_electrode(layout, side, "T10-T11").index,
            "S1": find_electrode(layout, side, "L1-L2").index,
        }
        for side in ("left", "right")
    }

    def make(indices: tuple[int, ...], amplitude_ma: float, **kw: object) -> StimStep:
        kw.pop("frequency_hz", None)  # every surface envelope at 30 Hz (the profile's rate)
        return StimStep(indices, amplitude_ma, 1000.0, 30.0, interphase_gap_us=0.0, **kw)  # type: ignore[arg-type]

    amplitudes = {
        "push_off": push_off_ma,
        "hip": flexion_ma,
        "stance": stance_ma,
        "rest": rest_ma,
        "knee": stance_ma,
        "ankle": push_off_ma,
    }
    return Program(
        name="transcutaneous-lumbar-walking",
        backend="transcutaneous",
        states=_walking_states(sides["left"], sides["right"], make, amplitudes),
        description="lumbar transcutaneous, paravertebral cathodes at T10-T11 and L1-L2 each "
        "side: the paddle's walking map (push-off, swing flexion, stance-side weight "
        "acceptance every second while hip is decoded); tonic T10-T11 at rest",
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
    """The walking example of a backend kind (the cervical transcutaneous program for the
    upper-limb path is transcutaneous_program())."""
    if backend == "paddle":
        return default_paddle_program()
    if backend == "nodes":
        return nodes_program()
    if backend == "transcutaneous":
        return transcutaneous_walking_program()
    raise ValueError(f"backend must be one of {BACKEND_KINDS}, got {backend!r}")
