"""Electrode layouts of the three stimulator kinds (the paddle lives in electrodes.py).

- nodes: N millimetre-scale magnetoelectric stimulators (MagNI and successors) placed along
  the lumbosacral cord, one per dorsal-root entry zone, each with a unique ID;
- transcutaneous: surface electrode pairs (cervical C3-4 / C6-7 as in the ARC-EX predecessor
  protocol, or a lumbar placement), facts.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.types import Electrode

# Stimulating contact of one node (unconfirmed: the MagNI film is 4 x 2 mm, facts.md; the
# electrode pads are taken as 2 mm^2).
NODE_CONTACT_AREA_MM2 = 2.0
# Surface electrodes: 5 x 5 cm (unconfirmed, common self-adhesive size).
SURFACE_AREA_MM2 = 2500.0

# Root order along the cord and the (side, root) of each node for 2..12 nodes: alternating
# left / right over the walking hotspots first (Wagner 2018: L1, L3, L4, S1), then the rest.
_NODE_SITES: tuple[tuple[str, str], ...] = (
    ("left", "L1"),
    ("right", "L1"),
    ("left", "L3"),
    ("right", "L3"),
    ("left", "S1"),
    ("right", "S1"),
    ("left", "L4"),
    ("right", "L4"),
    ("left", "L5"),
    ("right", "L5"),
    ("left", "L2"),
    ("right", "L2"),
)
_ROOT_Y_MM = {"L1": 6.0, "L2": 12.0, "L3": 18.0, "L4": 30.0, "L5": 42.0, "S1": 54.0, "S2": 60.0}
_SIDE_X_MM = {"left": -4.0, "midline": 0.0, "right": 4.0}


@dataclass(frozen=True)
class NodePlacement:
    """Where one node sits relative to the shared transmitter (drives energy harvesting)."""

    node_id: str  # unique address (PUF-like, unconfirmed), e.g. "0x3fa9c1d2"
    depth_mm: float  # tissue depth from the transmitter coil
    misalignment_deg: float  # tilt of the magnetoelectric film against the field
    lateral_offset_mm: float  # offset from the coil axis
    # Distance from the node's contact to its dorsal-root entry zone (sets the current reaching
    # the root). Assumption (unconfirmed): a leadless node placed at the dorsal-root entry zone
    # sits ~1 mm from the rootlets, closer than a paddle contact across the CSF (3 mm).
    root_gap_mm: float = 1.0


def node_ids(n: int, rng: np.random.Generator) -> tuple[str, ...]:
    """n unique 32-bit IDs."""
    ids: set[int] = set()
    while len(ids) < n:
        ids.add(int(rng.integers(1, 2**32)))
    return tuple(f"0x{i:08x}" for i in sorted(ids))


def node_layout(n: int = 6, rng: np.random.Generator | None = None) -> tuple[Electrode, ...]:
    """n nodes (2..12) along the cord; Electrode.name holds each node's unique ID."""
    if not 1 <= n <= len(_NODE_SITES):
        raise ValueError(f"n must be in [1, {len(_NODE_SITES)}] nodes, got {n}")
    ids = node_ids(n, rng if rng is not None else np.random.default_rng(0x0DE5))
    return tuple(
        Electrode(
            index=i,
            name=ids[i],
            root=root,
            side=side,
            x_mm=_SIDE_X_MM[side],
            y_mm=_ROOT_Y_MM[root],
            area_mm2=NODE_CONTACT_AREA_MM2,
            material="platinum",
        )
        for i, (side, root) in enumerate(_NODE_SITES[:n])
    )


def node_layout_at(
    sites: tuple[tuple[str, float, str], ...], rng: np.random.Generator | None = None
) -> tuple[Electrode, ...]:
    """Nodes at chosen (side, y_mm, nearest root) sites, each with a unique ID."""
    if not 1 <= len(sites) <= 16:
        raise ValueError(f"sites must list 1..16 nodes, got {len(sites)}")
    ids = node_ids(len(sites), rng if rng is not None else np.random.default_rng(0x0DE5))
    return tuple(
        Electrode(
            index=i,
            name=ids[i],
            root=root,
            side=side,
            x_mm=_SIDE_X_MM[side],
            y_mm=float(y_mm),
            area_mm2=NODE_CONTACT_AREA_MM2,
            material="platinum",
        )
        for i, (side, y_mm, root) in enumerate(sites)
    )


@dataclass(frozen=True)
class NodeSite:
    """One node of a planned layout (openbsi nodes plan): its address, where it sits along
    the cord, and its placement under the transmitter. A program file carries these, so a
    session drives the nodes the program was written for."""

    node_id: str
    side: str  # "left" | "right"
    root: str  # nearest dorsal-root entry zone
    y_mm: float  # along the cord, the paddle's frame
    depth_mm: float  # tissue depth under the transmitter coil
    lateral_offset_mm: float = 0.0  # from the coil's axis
    misalignment_deg: float = 0.0
    root_gap_mm: float = 1.0

    def __post_init__(self) -> None:
        if self.side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {self.side!r}")
        if self.root not in _ROOT_Y_MM:
            raise ValueError(f"root must be one of {sorted(_ROOT_Y_MM)}, got {self.root!r}")


NODE_ROOTS: tuple[str, ...] = tuple(_ROOT_Y_MM)


def sited_layout(
    sites: tuple[NodeSite, ...],
) -> tuple[tuple[Electrode, ...], tuple[NodePlacement, ...]]:
    """The electrodes (index = position in `sites`) and placements of a planned layout."""
    if not 1 <= len(sites) <= 16:
        raise ValueError(f"sites must list 1..16 nodes, got {len(sites)}")
    ids = [site.node_id for site in sites]
    if len(set(ids)) != len(ids):
        raise ValueError(f"node ids must be unique, got {ids}")
    electrodes = tuple(
        Electrode(
            index=i,
            name=site.node_id,
            root=site.root,
            side=site.side,
            x_mm=_SIDE_X_MM[site.side],
            y_mm=float(site.y_mm),
            area_mm2=NODE_CONTACT_AREA_MM2,
            material="platinum",
        )
        for i, site in enumerate(sites)
    )
    placements = tuple(
        NodePlacement(
            site.node_id,
            site.depth_mm,
            site.misalignment_deg,
            site.lateral_offset_mm,
            site.root_gap_mm,
        )
        for site in sites
    )
    return electrodes, placements


def node_placements(
    electrodes: tuple[Electrode, ...],
    rng: np.random.Generator | None = None,
    depth_range_mm: tuple[float, float] = (20.0, 40.0),
) -> tuple[NodePlacement, ...]:
    """Random implant depths (default 20–40 mm), misalignments (0–40 deg, 0–10 mm) and gaps
    to the root (0.8–1.5 mm; unconfirmed)."""
    g = rng if rng is not None else np.random.default_rng(7)
    low, high = depth_range_mm
    if not (0.0 <= low <= high <= 200.0):
        raise ValueError(
            f"depth_range_mm must satisfy 0 <= low <= high <= 200, got {depth_range_mm}"
        )
    return tuple(
        NodePlacement(
            node_id=e.name,
            depth_mm=float(g.uniform(low, high)),
            misalignment_deg=float(g.uniform(0.0, 40.0)),
            lateral_offset_mm=float(g.uniform(0.0, 10.0)),
            root_gap_mm=float(g.uniform(0.8, 1.5)),
        )
        for e in electrodes
    )


TRANSCUTANEOUS_PLACEMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    # ARC-EX predecessor protocol: electrodes at C3-4 and C6-7 (facts.md).
    "cervical": (("midline", "C3-4"), ("midline", "C6-7")),
    # Lumbar: two levels along the enlargement (segment-specific sites, Sayenko 2015, facts.md),
    # a paravertebral cathode on each side of both (returns over the abdomen / iliac crests).
    "lumbar": (
        ("left", "T10-T11"),
        ("right", "T10-T11"),
        ("left", "L1-L2"),
        ("right", "L1-L2"),
    ),
}
# Where each surface cathode sits along the cord's segments (mm, the paddle's frame: L1 at 5,
# S2 at 59). Vertebrae and segments do not align: the lumbosacral enlargement lies under the
# T10-L1 vertebrae and the conus near L1-L2 (unconfirmed mapping): T10-T11 over the L1
# segment, L1-L2 over the L5-S1 segments. Cervical sites keep their 60 mm spacing.
_SURFACE_Y_MM = {"T10-T11": 3.0, "L1-L2": 47.0}
# Paravertebral cathodes 30 mm either side of the spinous processes: a surface field still
# reaches both sides' roots (bilateral), the near side's at a lower intensity (assumption:
# the lateral offset and its size; patient/paths.py turns the distance into current).
_SURFACE_X_MM = {"left": -30.0, "midline": 0.0, "right": 30.0}


def transcutaneous_layout(placement: str = "cervical") -> tuple[Electrode, ...]:
    """Surface cathodes: two midline (cervical) or four paravertebral (lumbar)."""
    try:
        sites = TRANSCUTANEOUS_PLACEMENTS[placement]
    except KeyError:
        raise ValueError(
            f"placement must be one of {sorted(TRANSCUTANEOUS_PLACEMENTS)}, got {placement!r}"
        ) from None
    return tuple(
        Electrode(
            index=i,
            name=f"S{i}",
            root=root,
            side=side,
            x_mm=_SURFACE_X_MM[side],
            y_mm=_SURFACE_Y_MM.get(root, 60.0 * i),
            area_mm2=SURFACE_AREA_MM2,
            material="hydrogel",
        )
        for i, (side, root) in enumerate(sites)
    )


def default_layout(backend: str) -> tuple[Electrode, ...]:
    """The default electrodes of a program's backend kind: the layout `--stimulator KIND`
    sessions drive (the cervical surface layout is the upper-limb path's)."""
    if backend == "paddle":
        return PADDLE_16
    if backend == "nodes":
        return node_layout()
    if backend == "transcutaneous":
        return transcutaneous_layout("lumbar")  # the legs' path, as sessions drive it
    raise ValueError(
        f"backend must be one of ('paddle', 'nodes', 'transcutaneous'), got {backend!r}"
    )
