"""The spinal cord injury: neurological level, completeness (AIS A-D), spared descending drive.

AIS grades (International Standards for Neurological Classification of SCI):
A complete (no motor or sensory function in S4-S5); B sensory incomplete (no motor below the
level); C motor incomplete, most key muscles below the level < grade 3; D motor incomplete,
most key muscles below the level >= grade 3. The fractions of spared drive below are modelling
defaults chosen to respect that ordering (unconfirmed as numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

AIS_GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")
# Default fraction of descending motor drive that reaches motor pools below the lesion.
# Modelling defaults ordered by grade (unconfirmed numbers).
DEFAULT_SPARED_FRACTION: dict[str, float] = {"A": 0.0, "B": 0.0, "C": 0.15, "D": 0.45, "E": 1.0}
# Segments in rostrocaudal order (used to tell whether a motor pool lies below the lesion).
SEGMENTS: tuple[str, ...] = (
    *(f"C{i}" for i in range(1, 9)),
    *(f"T{i}" for i in range(1, 13)),
    *(f"L{i}" for i in range(1, 6)),
    *(f"S{i}" for i in range(1, 6)),
)


def segment_index(segment: str) -> int:
    try:
        return SEGMENTS.index(segment)
    except ValueError:
        raise ValueError(f"segment must be one of C1..S5, got {segment!r}") from None


@dataclass(frozen=True)
class Lesion:
    """A spinal cord injury.

    level: neurological level of injury (lowest normal segment), e.g. "T10", "C5".
    ais: AIS grade A-E.
    spared_fraction: fraction of descending drive reaching pools below the level (0..1);
        None takes the grade's default.
    chronic_years: time since injury (chronic >= 1 year).
    """

    level: str
    ais: str
    spared_fraction: float | None = None
    chronic_years: float = 5.0

    def __post_init__(self) -> None:
        segment_index(self.level)
        if self.ais not in AIS_GRADES:
            raise ValueError(f"ais must be one of {AIS_GRADES}, got {self.ais!r}")
        if self.spared_fraction is not None and not 0.0 <= self.spared_fraction <= 1.0:
            raise ValueError(f"spared_fraction must be in [0, 1], got {self.spared_fraction}")
        if self.ais in ("A", "B") and self.spared_fraction not in (None, 0.0):
            raise ValueError(
                f"spared_fraction must be 0 for a motor-complete AIS {self.ais} lesion, "
                f"got {self.spared_fraction}"
            )
        if self.chronic_years < 0:
            raise ValueError(f"chronic_years must be >= 0, got {self.chronic_years}")

    @property
    def descending_fraction(self) -> float:
        """Spared fraction of descending motor drive below the level."""
        if self.spared_fraction is not None:
            return float(self.spared_fraction)
        return DEFAULT_SPARED_FRACTION[self.ais]

    @property
    def motor_complete(self) -> bool:
        return self.descending_fraction == 0.0

    def voluntary_gain(self, segment: str) -> float:
        """Gain on voluntary drive for a motor pool in `segment` (1 above the lesion)."""
        if segment_index(segment) <= segment_index(self.level):
            return 1.0
        return self.descending_fraction
