"""Node-placement planning: where to put N magnetoelectric nodes along the cord.

The seed's goal: "place clusters of stimulators across multiple spinal segments during a single
procedure, tailoring patterns of activation to individual movement goals". For each candidate
position (1 mm steps along the lumbosacral cord, over the left or right entry zones) the
planner knows, from the virtual cord (patient/paths.py, patient/spinal.py):
- the power a node there can harvest from the shared transmitter (node_network.HarvestModel:
  depth below the coil, offset from the coil axis);
- the largest amplitude that power sustains at the program's pulse width and rate (and the
  MagNI 1.5 mA ceiling, facts.md), and
- for every amplitude up to it, the share of the recruited motor pools that goes to each target
  muscle (its selectivity) and how much of the target's pool it recruits.
A target counts as served by a node only if the node recruits at least MIN_RECRUITED of its
pool. Positions are mirrored left/right (a walking plan is symmetric); the planner tries every
combination of N/2 positions on a 3 mm grid, then moves one position at a time on the 1 mm grid
while the mean selectivity over the targets improves (a local refinement, not a proof of the
optimum), and compares it with N/2 evenly spaced positions over L1-S2.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from openbsi.patient.paths import RootCoupling, node_coupling
from openbsi.patient.spinal import MUSCLES, ROOT_Y_MM, SpinalCord
from openbsi.stimulation.layouts import NodePlacement, NodeSite, node_ids
from openbsi.stimulation.node_network import HarvestModel
from openbsi.stimulation.profiles import NODES_PROFILE
from openbsi.stimulation.program import Program, StimStep
from openbsi.stimulation.types import Electrode, Pulse

CANDIDATE_Y_MM = np.arange(0.0, 63.0, 1.0)  # the L1..S2 span of the cord model, 1 mm steps
# Transmitter coil centred over the middle of the L1-S2 span (assumption: one coil on the
# back over the lumbosacral enlargement).
COIL_Y_MM = 32.0
MIN_RECRUITED = 0.3  # a target is served when a node recruits >= 30 % of its pool (assumption)
PULSE_WIDTH_US = 380.0  # as the nodes walking program (30 uC/cm^2 at 1.5 mA on 2 mm^2)
FREQUENCY_HZ = 40.0
# The plan's walking program drives its push-off and swing trains harder than the
# selectivity-optimal amplitude: the largest amplitude (<= 1.5 mA) the node's harvest sustains
# at 60 Hz, as the default nodes program (stimulation/examples.py). At the selectivity
# amplitudes (0.65-1.35 mA, 40 Hz) the 8-node plan made 0 steps in 30 s (ideal decoder).
WALK_HZ = 60.0
AMPLITUDES_MA = np.linspace(0.1, NODES_PROFILE.max_amplitude_ma, 29)
SIDE_X_MM = {"left": -4.0, "right": 4.0}


@dataclass(frozen=True)
class PlannedNode:
    node_id: str
    side: str
    root: str
    y_mm: float
    depth_mm: float
    harvest_uw: float
    amplitude_ma: float  # chosen for its target
    target: str | None
    budget_margin: float  # 1 - power its train needs / power it harvests


def nearest_root(y_mm: float) -> str:
    return min(ROOT_Y_MM, key=lambda root: abs(ROOT_Y_MM[root] - y_mm))


def coil_offset_mm(y_mm: float) -> float:
    """Distance of a node at y_mm over either entry zone from the transmitter coil's axis."""
    return float(np.hypot(y_mm - COIL_Y_MM, SIDE_X_MM["left"]))


def harvest_uw(y_mm: float, depth_mm: float, harvest: HarvestModel) -> float:
    """Net power a node at this position harvests (aligned film, offset from the coil axis)."""
    placement = NodePlacement("candidate", depth_mm, 0.0, coil_offset_mm(y_mm))
    return harvest.harvested_power_uw(placement)


def affordable_ma(
    power_uw: float, harvest: HarvestModel, frequency_hz: float = FREQUENCY_HZ
) -> float:
    """Largest amplitude (of AMPLITUDES_MA) whose continuous train the harvest sustains."""
    best = 0.0
    for a in AMPLITUDES_MA:
        need_uw = harvest.pulse_energy_uj(float(a), PULSE_WIDTH_US) * frequency_hz
        if need_uw <= power_uw:
            best = float(a)
    return best


def candidate_table(
    targets: tuple[str, ...], depth_mm: float, harvest: HarvestModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate y: (best share per target (n_y, n_t), its amplitude, harvest uW,
    affordable amplitude). Computed on the left side (the cord model is symmetric)."""
    layout = tuple(
        Electrode(i, f"c{i}", nearest_root(float(y)), "left", SIDE_X_MM["left"], float(y), 2.0)
        for i, y in enumerate(CANDIDATE_Y_MM)
    )
    # Planned nodes: aligned films at the default gap to the root (NodePlacement defaults).
    placements = tuple(NodePlacement(e.name, depth_mm, 0.0, 0.0) for e in layout)
    coupling = RootCoupling("nodes", node_coupling(layout, placements))
    cord = SpinalCord(layout, root_coupling=coupling)
    pulses = [Pulse(0, e.index, float(a), PULSE_WIDTH_US) for e in layout for a in AMPLITUDES_MA]
    _, reflex, direct, _ = cord.evoked(pulses)
    recruited = (reflex * (1.0 - direct) + direct).reshape(len(layout), len(AMPLITUDES_MA), -1)
    total = recruited.sum(axis=2)
    power = np.array([harvest_uw(float(y), depth_mm, harvest) for y in CANDIDATE_Y_MM])
    a_max = np.array([affordable_ma(p, harvest) for p in power])
    share = np.zeros((len(layout), len(targets)))
    chosen = np.zeros((len(layout), len(targets)))
    for t, muscle in enumerate(targets):
        m = MUSCLES.index(muscle)  # left pools come first
        target = recruited[:, :, m]
        s = np.where(total > 1e-9, target / np.maximum(total, 1e-9), 0.0)
        usable = (target >= MIN_RECRUITED) & (AMPLITUDES_MA[None, :] <= a_max[:, None] + 1e-12)
        s = np.where(usable, s, 0.0)
        k = s.argmax(axis=1)
        share[:, t] = s[np.arange(len(layout)), k]
        chosen[:, t] = np.where(share[:, t] > 0, AMPLITUDES_MA[k], 0.0)
    return share, chosen, power, a_max


def _score(share: np.ndarray, rows: tuple[int, ...]) -> tuple[float, np.ndarray]:
    """Mean over targets of the selectivity of the chosen positions, each position serving at
    most one target (the best assignment, linear_sum_assignment); unserved targets count 0."""
    sub = share[list(rows)]  # (k, n_t)
    r, c = linear_sum_assignment(-sub)
    each = np.zeros(sub.shape[1])
    each[c] = sub[r, c]
    return float(each.mean()), each


def _assignment(share: np.ndarray, rows: tuple[int, ...]) -> dict[int, int]:
    """Position row -> the target it serves (served ones only)."""
    sub = share[list(rows)]
    r, c = linear_sum_assignment(-sub)
    return {rows[i]: int(t) for i, t in zip(r, c, strict=True) if sub[i, t] > 0}


def plan_nodes(
    targets: tuple[str, ...],
    n: int = 6,
    *,
    depth_mm: float = 30.0,
    harvest: HarvestModel | None = None,
    rng: np.random.Generator | None = None,
) -> dict:
    """The plan, its expected selectivity per target and that of evenly spaced nodes."""
    unknown = [t for t in targets if t not in MUSCLES]
    if unknown or not targets:
        raise ValueError(f"--targets must name muscles from {MUSCLES}, got {list(targets)}")
    if len(set(targets)) != len(targets):
        raise ValueError(f"--targets must not repeat a muscle, got {list(targets)}")
    if not (2 <= n <= 12 and n % 2 == 0):
        raise ValueError(f"--n must be an even number of nodes in [2, 12], got {n}")
    if not 5.0 <= depth_mm <= 80.0:
        raise ValueError(f"--depth-mm must be in [5, 80] mm, got {depth_mm}")
    harvest = harvest if harvest is not None else HarvestModel()
    share, chosen, power, a_max = candidate_table(targets, depth_mm, harvest)
    k = n // 2
    feasible = [i for i in range(len(CANDIDATE_Y_MM)) if a_max[i] > 0]
    if len(feasible) < k:
        raise ValueError(
            f"--depth-mm {depth_mm}: only {len(feasible)} positions can power a node, need {k}"
        )
    # Coarse pass (every 3 mm) then a refinement of the best combination, 1 mm at a time.
    coarse = feasible[::3]
    best = max(itertools.combinations(coarse, k), key=lambda rows: _score(share, rows)[0])
    improved = True
    while improved:
        improved = False
        for slot in range(k):
            for i in feasible:
                trial = tuple(sorted((*best[:slot], i, *best[slot + 1 :])))
                if len(set(trial)) == k and _score(share, trial)[0] > _score(share, best)[0]:
                    best, improved = trial, True
    even_y = np.linspace(ROOT_Y_MM["L1"], ROOT_Y_MM["S2"], k)
    even = tuple(int(np.argmin(np.abs(CANDIDATE_Y_MM - y))) for y in even_y)
    plan_score, plan_each = _score(share, best)
    _, even_each = _score(share, even)
    nodes = _planned_nodes(best, share, chosen, power, targets, depth_mm, harvest, rng)
    return {
        "nodes": nodes,
        # null: no node recruits >= MIN_RECRUITED of that target's pool (not served)
        "selectivity": {t: _served(plan_each[i]) for i, t in enumerate(targets)},
        "baseline_selectivity": {t: _served(even_each[i]) for i, t in enumerate(targets)},
        "mean_selectivity": plan_score,  # unserved targets count 0
        "baseline_mean_selectivity": float(np.mean(even_each)),
        "baseline_y_mm": [float(CANDIDATE_Y_MM[i]) for i in even],
    }


def _served(share: float) -> float | None:
    return round(float(share), 4) if share > 0 else None


def _planned_nodes(rows, share, chosen, power, targets, depth_mm, harvest, rng) -> list[dict]:
    ids = node_ids(2 * len(rows), rng if rng is not None else np.random.default_rng(0x91A7))
    serves = _assignment(share, rows)
    out = []
    for j, i in enumerate(rows):
        t = serves.get(i, int(np.argmax(share[i])))
        served = i in serves
        amplitude = float(chosen[i, t]) if served else float(AMPLITUDES_MA[0])
        need = harvest.pulse_energy_uj(amplitude, PULSE_WIDTH_US) * FREQUENCY_HZ
        walk = affordable_ma(float(power[i]), harvest, WALK_HZ) if served else 0.0
        walk_need = harvest.pulse_energy_uj(walk, PULSE_WIDTH_US) * WALK_HZ
        for s, side in enumerate(("left", "right")):
            out.append(
                {
                    "id": ids[2 * j + s],
                    "side": side,
                    "root": nearest_root(float(CANDIDATE_Y_MM[i])),
                    "y_mm": float(CANDIDATE_Y_MM[i]),
                    "depth_mm": depth_mm,
                    "harvest_uw": float(power[i]),
                    "amplitude_ma": round(amplitude, 3),
                    "target": targets[t] if served else None,
                    "budget_margin": float(1.0 - need / power[i]) if power[i] > 0 else None,
                    # the walking program's trains (null: the node serves no target)
                    "walk_amplitude_ma": round(walk, 3) if walk > 0 else None,
                    "walk_budget_margin": (
                        float(1.0 - walk_need / power[i]) if walk > 0 and power[i] > 0 else None
                    ),
                }
            )
    return out


def plan_program(plan: dict) -> Program:
    """A walking program for the planned layout (indices in the plan's node order, the layout
    carried in the program): push-off on the gastrocnemius nodes, swing on the iliopsoas
    (+ tibialis) nodes, both at the node's walking amplitude and WALK_HZ; stance and knee on
    the vasti nodes at their walking amplitude, rest (tonic, not scaled) at the selectivity
    amplitude; targets the plan did not serve are left out."""
    by = {
        (n["side"], n["target"]): (i, n["amplitude_ma"], n["walk_amplitude_ma"])
        for i, n in enumerate(plan["nodes"])
        if n["target"]
    }

    def step(side: str, target: str, tonic: bool = False, **kw: object) -> list[StimStep]:
        if (side, target) not in by:
            return []
        i, selective_ma, walk_ma = by[(side, target)]
        if tonic:
            return [StimStep((i,), selective_ma, PULSE_WIDTH_US, FREQUENCY_HZ, scaled=False)]
        hz = float(kw.pop("frequency_hz", FREQUENCY_HZ))  # type: ignore[arg-type]
        return [StimStep((i,), walk_ma, PULSE_WIDTH_US, hz, **kw)]  # type: ignore[arg-type]

    def cycle(lead: str, other: str) -> tuple[StimStep, ...]:
        steps: list[StimStep] = []
        for offset, swing, stance in ((0.0, lead, other), (1000.0, other, lead)):
            period = {"period_ms": 2000.0}
            phasic = {"frequency_hz": WALK_HZ, **period}
            steps += step(swing, "gastrocnemius", onset_ms=offset, duration_ms=300.0, **phasic)
            for target in ("iliopsoas", "tibialis_anterior"):
                steps += step(swing, target, onset_ms=offset + 300, duration_ms=500.0, **phasic)
            steps += step(stance, "vasti", onset_ms=offset + 300, duration_ms=400.0, **period)
        return tuple(steps)

    states: dict[str, tuple[StimStep, ...]] = {
        "rest": tuple(step("left", "vasti", tonic=True) + step("right", "vasti", tonic=True)),
        "left_hip": cycle("left", "right"),
        "right_hip": cycle("right", "left"),
    }
    for side in ("left", "right"):
        states[f"{side}_knee"] = tuple(step(side, "vasti"))
        states[f"{side}_ankle"] = tuple(step(side, "gastrocnemius"))
    return Program(
        name="nodes-plan",
        backend="nodes",
        states={k: v for k, v in states.items() if v},
        description="walking program for a planned node layout (openbsi nodes plan)",
        node_sites=plan_sites(plan),
    )


def plan_sites(plan: dict) -> tuple[NodeSite, ...]:
    """The plan's nodes as the layout its program indexes (aligned films at the default gap,
    as the planner assumed), so a session drives the planned nodes."""
    return tuple(
        NodeSite(
            node_id=n["id"],
            side=n["side"],
            root=n["root"],
            y_mm=n["y_mm"],
            depth_mm=n["depth_mm"],
            lateral_offset_mm=coil_offset_mm(n["y_mm"]),
        )
        for n in plan["nodes"]
    )
