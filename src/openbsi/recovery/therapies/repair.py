"""Repair therapies: autologous graft, scaffold + organoid, injectable depot, iPSC progenitors.

Each preclinical effect enters as `effect_fraction_animal` (share of the available recovery in
animals) times `translational_discount` (an assumption: no validated mapping from rodent
locomotor scores to human scores exists, facts.md). The total hazard that recovers that share
is spread over the therapy's own time course.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np

from openbsi.recovery.parameters import param
from openbsi.recovery.state import inflammation_curve, scar_curve
from openbsi.recovery.therapies.base import (
    DayContext,
    DoseField,
    Effect,
    Therapy,
    fraction_to_hazard,
)

_META = "biomaterials meta-analysis, 134 publications, doi:10.1038/s41393-022-00811-z"
_NMA = "NSPC network meta-analysis, 188 studies, doi:10.3389/fphar.2022.819861"
_DISCOUNT = (
    "assumption: translational discount from rodent locomotor scales to human motor scores "
    "(no validated mapping; heterogeneity I2 88-98 %, so shrink toward zero)"
)


def _logistic(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


class _Integrating(Therapy):
    """A surgically placed construct that integrates over months and forms relays."""

    single_event = True
    effect_parameters = ("effect_fraction_animal", "translational_discount", "take_probability")

    def integration(self, days_after: float) -> float:
        p = self.params
        return float(_logistic((days_after - p.integration_half_days) / p.integration_width_days))

    def start(self, ctx: DayContext, dose: dict[str, float]) -> None:
        ctx.event(ctx.uniforms[:, 2] < self.params.surgical_complication,
                  "surgical_complication", "serious")  # fmt: skip

    def step(self, ctx: DayContext, dose: dict[str, float], active: bool) -> Effect | None:
        p = self.params
        k = ctx.day - ctx.start_day
        took = ctx.state.take < p.take_probability
        d_int = self.integration(k + 1) - self.integration(k)
        before = ctx.state.relay.copy()
        ctx.state.relay = np.clip(ctx.state.relay + took * d_int * p.relay_capacity, 0.0, 1.0)
        self.findings(ctx, before)
        total = fraction_to_hazard(p.effect_fraction_animal * p.translational_discount)
        return Effect(rate=took * total * d_int * dose.get("dose_fraction", 1.0),
                      region="all", needs_drive=False)  # fmt: skip

    def findings(self, ctx: DayContext, relay_before: np.ndarray) -> None:
        return None


@dataclass(frozen=True)
class GraftParams:
    effect_fraction_animal: float = param(
        0.5, "fraction of available recovery", 0.1, 0.9, "animal",
        "autologous engineered cord (Tel Aviv): walking restored in 100 % of acute and 80 % of "
        "chronic mice (press; unconfirmed)",
    )  # fmt: skip
    translational_discount: float = param(0.15, "fraction", 0.0, 0.5, "assumption", _DISCOUNT)
    take_probability: float = param(
        0.7, "fraction", 0.3, 1.0, "assumption", "assumption: share of grafts that integrate",
    )  # fmt: skip
    integration_half_days: float = param(
        120.0, "days", 60.0, 270.0, "assumption",
        "assumption: integration and relay formation over months",
    )  # fmt: skip
    integration_width_days: float = param(
        30.0, "days", 10.0, 60.0, "assumption", "assumption: spread of the integration time",
    )  # fmt: skip
    relay_capacity: float = param(
        0.5, "fraction", 0.1, 1.0, "assumption", "assumption: relay of a taken graft",
    )  # fmt: skip
    surgical_complication: float = param(
        0.1, "1/surgery", 0.0, 0.3, "assumption",
        "assumption: open cord surgery (no first-in-human data yet)",
    )  # fmt: skip


class AutologousGraft(_Integrating):
    name = "autologous_graft"
    summary = "Autologous lab-grown spinal cord construct implanted into the lesion."
    Params = GraftParams
    dose_fields: ClassVar[dict[str, DoseField]] = {
        "dose_fraction": DoseField("fraction", 0.0, 1.0, 1.0, "share of the lesion bridged"),
    }


@dataclass(frozen=True)
class ScaffoldParams:
    effect_fraction_animal: float = param(
        0.253, "fraction of locomotor scale", 0.203, 0.303, "animal",
        f"biomaterial-based combinations +25.3 % (20.3-30.3) vs injury-only ({_META})",
    )  # fmt: skip
    translational_discount: float = param(0.3, "fraction", 0.0, 0.6, "assumption", _DISCOUNT)
    take_probability: float = param(
        0.8, "fraction", 0.3, 1.0, "animal",
        "host cells infiltrated the scaffold and relays formed (Koffler 2019, "
        "doi:10.1038/s41591-018-0296-z); share assumed",
    )  # fmt: skip
    integration_half_days: float = param(
        150.0, "days", 60.0, 300.0, "assumption", "assumption: bridging over months",
    )  # fmt: skip
    integration_width_days: float = param(
        40.0, "days", 10.0, 80.0, "assumption", "assumption: spread of the integration time",
    )  # fmt: skip
    relay_capacity: float = param(
        0.4, "fraction", 0.1, 1.0, "assumption", "assumption: relay capacity of the bridge",
    )  # fmt: skip
    mep_relay_threshold: float = param(
        0.15, "relay fraction", 0.05, 0.5, "assumption",
        "assumption: relay capacity at which motor evoked potentials cross the lesion "
        "(MEPs across the lesion in rats, facts.md)",
    )  # fmt: skip
    surgical_complication: float = param(
        0.1, "1/surgery", 0.0, 0.3, "assumption", "assumption: open cord surgery",
    )  # fmt: skip


class ScaffoldOrganoid(_Integrating):
    name = "scaffold_organoid"
    summary = "3D-printed scaffold carrying hiPSC spinal organoids, bridging a complete lesion."
    Params = ScaffoldParams
    dose_fields: ClassVar[dict[str, DoseField]] = {
        "dose_fraction": DoseField("fraction", 0.0, 1.0, 1.0, "share of the lesion bridged"),
    }

    def findings(self, ctx: DayContext, relay_before: np.ndarray) -> None:
        th = self.params.mep_relay_threshold
        ctx.event(
            (relay_before < th) & (ctx.state.relay >= th), "motor_evoked_potential", "finding"
        )


@dataclass(frozen=True)
class InjectableParams:
    effect_fraction_animal: float = param(
        0.25, "fraction of available recovery", 0.0, 0.6, "animal",
        "supramolecular peptide, one injection 24 h after injury restored walking in mice by "
        "4 weeks (Science 2021, doi:10.1126/science.abh3602); injected hydrogel alone +1.4 % "
        f"(-10.2 to 13) in the {_META}",
    )  # fmt: skip
    translational_discount: float = param(0.2, "fraction", 0.0, 0.5, "assumption", _DISCOUNT)
    release_half_life_days: float = param(
        7.0, "days", 1.0, 42.0, "assumption",
        "assumption: first-order depot prior (no pooled half-lives; the peptide biodegrades "
        "within 12 weeks, Science 2021)",
    )  # fmt: skip
    inflammation_harm: float = param(
        0.1, "1 per unit released at full inflammation", 0.0, 0.5, "assumption",
        "assumption: material released into acute inflammation worsens it and costs spared "
        "drive ('too early worsens inflammation', facts.md)",
    )  # fmt: skip
    injection_complication: float = param(
        0.01, "1/injection", 0.0, 0.05, "assumption", "assumption: injection-site complication",
    )  # fmt: skip


@lru_cache(maxsize=1)
def best_window() -> float:
    """The best (1 - scar)(1 - inflammation) the injury's own timeline offers (day 0-180):
    an injectable released entirely at that moment gives the full stated effect."""
    t = np.linspace(0.0, 180.0, 3601)
    return float(np.max((1.0 - scar_curve(t)) * (1.0 - inflammation_curve(t))))


class InjectableDepot(Therapy):
    """Scar-modifying injectable released as a first-order depot.

    Released material acts in proportion to (1 - scar)(1 - inflammation): too early it is
    spent in the acute inflammation (and worsens it, costing spared drive), too late it meets a
    mature scar.
    """

    name = "injectable_depot"
    summary = "Injectable scar-modifying biomaterial released from a first-order depot."
    Params = InjectableParams
    single_event = True
    uses_environment = True
    effect_parameters = ("effect_fraction_animal", "translational_discount", "inflammation_harm")
    dose_fields: ClassVar[dict[str, DoseField]] = {
        "dose_fraction": DoseField("fraction", 0.0, 2.0, 1.0, "relative to the reference dose"),
        "release_half_life_days": DoseField("days", 0.5, 60.0, 0.0, "0 = the parameter's prior"),
    }

    def start(self, ctx: DayContext, dose: dict[str, float]) -> None:
        ctx.event(ctx.uniforms[:, 2] < self.params.injection_complication,
                  "injection_complication", "moderate")  # fmt: skip

    def released(self, days_after: float, dose: dict[str, float]) -> float:
        """Share of the depot released on day `days_after` (first-order kinetics)."""
        half = dose.get("release_half_life_days") or self.params.release_half_life_days
        k = np.log(2.0) / half
        return float(
            dose["dose_fraction"] * (np.exp(-k * days_after) - np.exp(-k * (days_after + 1)))
        )

    def step(self, ctx: DayContext, dose: dict[str, float], active: bool) -> Effect | None:
        p = self.params
        r = self.released(ctx.day - ctx.start_day, dose)
        if r < 1e-6:
            return None
        s = ctx.state
        window = (1.0 - s.scar) * (1.0 - s.inflammation)
        harm = p.inflammation_harm * r * s.inflammation
        s.spared_drive *= (1.0 - np.clip(harm, 0.0, 0.5))[:, None]
        s.inflammation = np.clip(s.inflammation + 0.5 * harm, 0.0, 1.0)
        s.scar = np.clip(s.scar - 0.5 * r * window, 0.0, 1.0)
        total = fraction_to_hazard(p.effect_fraction_animal * p.translational_discount)
        return Effect(rate=total * r * window / best_window(), region="all", needs_drive=False)
