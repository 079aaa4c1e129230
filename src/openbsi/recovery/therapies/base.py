"""The therapy plug-in interface: parameters with provenance, dose fields, a daily effect.

A therapy is a class with a frozen `Params` dataclass (fields built with `param`, so each has
a unit, a plausible range, an evidence grade and a source), the dose fields a plan may set, and
two hooks the engine calls for the whole cohort at once:

- `start(ctx, dose)` on the intervention's first day (surgery, injection, implant);
- `step(ctx, dose, active)` on every day from then on; `active` is True while the intervention
  runs (start_day <= day < end_day). It returns an `Effect`: an extra recovery hazard for the
  key muscles below the level, which the engine adds to the natural one.

Preclinical effects are written as a fraction of the available recovery times an explicit
translational discount (facts.md: no validated rodent-to-human mapping exists).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from openbsi.recovery.model import ModelParams
from openbsi.recovery.parameters import grade_of, parameter_infos
from openbsi.recovery.state import CohortState
from openbsi.recovery.types import ParameterInfo


@dataclass(frozen=True)
class DoseField:
    unit: str
    low: float
    high: float
    default: float
    help: str = ""


@dataclass
class DayContext:
    """What a therapy sees on one course day (arrays over the cohort)."""

    day: int  # course day
    start_day: float  # the intervention's start
    end_day: float | None
    state: CohortState
    uniforms: np.ndarray  # (n, UNIFORMS_PER_INTERVENTION) this intervention's draws today
    model: ModelParams
    events: list[dict] = field(default_factory=list)
    name: str = ""

    @property
    def days_since_injury(self) -> np.ndarray:
        return self.state.days_since_injury + self.day

    def event(self, mask: np.ndarray, kind: str, severity: str) -> None:
        if not mask.any():
            return
        for i in np.flatnonzero(mask):
            self.events.append(
                {"patient": int(i), "day": int(self.day), "kind": kind, "severity": severity,
                 "therapy": self.name}
            )  # fmt: skip

    def session_today(self, sessions_per_week: float) -> bool:
        """Sessions spread evenly over the week (deterministic schedule)."""
        k = self.day - math.ceil(self.start_day)  # scalar twin of session_days (per-day speed)
        return math.floor((k + 1) * sessions_per_week / 7.0) > math.floor(
            k * sessions_per_week / 7.0
        )


def session_days(days: np.ndarray, start_day: float, sessions_per_week: float) -> np.ndarray:
    """Which of `days` carry a session: sessions spread evenly over each week from the start."""
    k = days - int(np.ceil(start_day))
    return np.floor((k + 1) * sessions_per_week / 7.0) > np.floor(k * sessions_per_week / 7.0)


@dataclass
class Effect:
    rate: np.ndarray  # (n,) extra hazard today for key muscles below the level
    region: str = "all"  # "upper" (C5-T1) | "lower" (L2-S1) | "all"
    needs_drive: bool = True  # scaled by the spared drive (activity-dependent plasticity)


UNIFORMS_PER_INTERVENTION = 4


class Therapy:
    """Base class of every therapy plug-in."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    Params: ClassVar[type] = object
    dose_fields: ClassVar[dict[str, DoseField]] = {}
    # names of the parameters that size the effect (their grades give the assumption share)
    effect_parameters: ClassVar[tuple[str, ...]] = ()
    single_event: ClassVar[bool] = False
    uses_environment: ClassVar[bool] = False  # reads or changes inflammation / scar daily

    def __init__(self, params: Any = None) -> None:
        self.params = self.Params() if params is None else params

    def parameters(self) -> list[ParameterInfo]:
        return parameter_infos(self.params, prefix=f"{self.name}.")

    def assumption_weight(self) -> float:
        """Share of the effect-sizing parameters graded 'assumption' (0..1)."""
        names = self.effect_parameters
        if not names:
            return 1.0
        return sum(grade_of(self.params, n) == "assumption" for n in names) / len(names)

    def resolve_dose(self, dose: dict[str, float]) -> dict[str, float]:
        out = {k: f.default for k, f in self.dose_fields.items()}
        out.update(dose)
        return out

    def may_act(
        self, days: np.ndarray, start_day: float, end_day: float | None, dose: dict[str, float]
    ) -> np.ndarray:
        """Days (course days) on which `start` or `step` may do anything; others are skipped.
        Default: every day from the start on."""
        return days >= start_day

    def start(self, ctx: DayContext, dose: dict[str, float]) -> None:  # pragma: no cover
        return None

    def step(self, ctx: DayContext, dose: dict[str, float], active: bool) -> Effect | None:
        raise NotImplementedError


def fraction_to_hazard(fraction: float | np.ndarray) -> np.ndarray:
    """The total hazard that recovers `fraction` of the available deficit."""
    return -np.log1p(-np.clip(fraction, 0.0, 0.999))
