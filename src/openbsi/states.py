"""The movement states the interface decodes, shared by the patient's intent and the decoders.

Lorach et al. 2023 / Moly et al. 2022: rest, or hip / knee / ankle of the left or right leg.
"""

from typing import Final

STATES: Final[tuple[str, ...]] = (
    "rest",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_hip",
    "right_knee",
    "right_ankle",
)
REST: Final[str] = "rest"
N_STATES: Final[int] = len(STATES)
STATE_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(STATES)}


def state_index(name: str) -> int:
    """Index of a state name; a clear error for unknown names."""
    try:
        return STATE_INDEX[name]
    except KeyError:
        raise ValueError(f"state must be one of {STATES}, got {name!r}") from None


def side_and_joint(name: str) -> tuple[str, str] | None:
    """('left', 'hip') for 'left_hip'; None for rest."""
    if name == REST:
        return None
    side, joint = name.split("_", 1)
    return side, joint
