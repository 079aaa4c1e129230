"""Electrode layouts. The default is a 16-contact lumbosacral paddle in a 5-6-5 arrangement.

The walking BSI used a 16-electrode paddle lead over the lumbosacral cord (Lorach et al. 2023),
placed so that its contacts sit over the dorsal-root entry zones of L1..S2 (Wagner et al. 2018
hotspots: hip flexion L1/L4, knee extension L3, propulsion S1). Contact size 3 x 4 mm is typical
of paddle leads of this kind (unconfirmed for this device).
"""

from __future__ import annotations

from openbsi.stimulation.types import Electrode

CONTACT_AREA_MM2 = 12.0  # 3 mm x 4 mm (unconfirmed, typical paddle contact)
_COLUMN_X_MM = {"left": -4.0, "midline": 0.0, "right": 4.0}
# Rostrocaudal rows (mm from the rostral tip) and the root each row sits over.
_LATERAL_ROWS = ((6.0, "L1"), (18.0, "L3"), (30.0, "L4"), (42.0, "L5"), (54.0, "S1"))
_MIDLINE_ROWS = ((3.0, "L1"), (13.0, "L2"), (23.0, "L3"), (33.0, "L4"), (45.0, "S1"), (57.0, "S2"))


def paddle16() -> tuple[Electrode, ...]:
    """The default 16-contact paddle: 5 left, 6 midline, 5 right contacts."""
    layout: list[tuple[str, float, str]] = []
    layout += [("left", y, root) for y, root in _LATERAL_ROWS]
    layout += [("midline", y, root) for y, root in _MIDLINE_ROWS]
    layout += [("right", y, root) for y, root in _LATERAL_ROWS]
    return tuple(
        Electrode(
            index=i,
            name=f"E{i:02d}",
            root=root,
            side=side,
            x_mm=_COLUMN_X_MM[side],
            y_mm=y,
            area_mm2=CONTACT_AREA_MM2,
        )
        for i, (side, y, root) in enumerate(layout)
    )


PADDLE_16: tuple[Electrode, ...] = paddle16()


def find_electrode(electrodes: tuple[Electrode, ...], side: str, root: str) -> Electrode:
    """The contact over `root` on `side`; a clear error when the layout has none."""
    for electrode in electrodes:
        if electrode.side == side and electrode.root == root:
            return electrode
    raise ValueError(f"no electrode over root {root!r} on side {side!r} in this layout")
