"""Human iPSC-derived spinal neural progenitors and the "ignition" hypothesis.

One concentrated pulse of soluble factors from the graft (size: dose, potency, timing) drives a
bistable repair switch x: dx/dt = rate * x (1 - x) (x - theta) + pulse(t). Above a threshold
the switch flips to the "on" state and stays there (self-sustaining repair); below it, x falls
back to 0 (facts.md, seed 002: a ~1000-fold intravascular/interstitial concentration gap lets
one pulse cross a threshold; a bistable switch, not a dose that must be kept up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from openbsi.recovery.parameters import param
from openbsi.recovery.therapies.base import (
    DayContext,
    DoseField,
    Effect,
    Therapy,
    fraction_to_hazard,
)

_NMA = "NSPC network meta-analysis, 188 studies, doi:10.3389/fphar.2022.819861"
_CDD = "Cell Death & Disease 2025, doi:10.1038/s41419-025-07961-x"


@dataclass(frozen=True)
class ProgenitorParams:
    effect_fraction_animal: float = param(
        0.3, "fraction of available recovery", 0.1, 0.6, "animal",
        f"neural progenitor grafts improve locomotor scores in rodents ({_NMA}); after "
        f"transplant iNOS falls, repair markers rise, myelin preserved ({_CDD}); size assumed",
    )  # fmt: skip
    translational_discount: float = param(
        0.2, "fraction", 0.0, 0.5, "assumption",
        "assumption: rodent-to-human discount (no validated mapping, facts.md)",
    )  # fmt: skip
    reference_cells: float = param(
        1e6, "cells", 1e5, 1e7, "animal", f">= 1e6 cells favoured ({_NMA})",
    )  # fmt: skip
    switch_threshold: float = param(
        0.3, "switch units", 0.1, 0.5, "assumption",
        "assumption: unstable point of the bistable repair switch (ignition hypothesis, seed 002)",
    )  # fmt: skip
    switch_rate_per_day: float = param(
        0.3, "1/day", 0.05, 1.0, "assumption", "assumption: speed of the switch dynamics",
    )  # fmt: skip
    pulse_gain: float = param(
        0.55, "switch units per reference pulse", 0.05, 1.5, "assumption",
        "assumption: size of the soluble-factor pulse of a reference dose at full potency in "
        "the subacute window",
    )  # fmt: skip
    pulse_tau_days: float = param(
        2.0, "days", 0.5, 7.0, "assumption", "assumption: duration of the factor pulse",
    )  # fmt: skip
    repair_tau_days: float = param(
        90.0, "days", 30.0, 270.0, "assumption", "assumption: time course of switched-on repair",
    )  # fmt: skip
    subacute_start_days: float = param(
        3.0, "days after injury", 0.0, 7.0, "animal", f"subacute window 3-14 d is best ({_NMA})",
    )  # fmt: skip
    subacute_end_days: float = param(
        14.0, "days after injury", 7.0, 30.0, "animal", f"subacute window 3-14 d ({_NMA})",
    )  # fmt: skip
    chronic_factor: float = param(
        0.3, "fraction", 0.0, 1.0, "assumption",
        f"assumption: pulse share left long after the window (earlier grafting favoured, {_NMA})",
    )  # fmt: skip
    surgical_complication: float = param(
        0.03, "1/procedure", 0.0, 0.1, "assumption", "assumption: intralesional injection",
    )  # fmt: skip
    overgrowth_per_year: float = param(
        0.005, "1/patient/year", 0.0, 0.05, "assumption",
        "assumption: graft overgrowth (proliferating cells), no human rate",
    )  # fmt: skip


class Progenitors(Therapy):
    name = "ipsc_progenitors"
    summary = "Human iPSC-derived spinal neural progenitors; ignition as a bistable repair switch."
    Params = ProgenitorParams
    single_event = True
    uses_environment = True
    effect_parameters = ("effect_fraction_animal", "translational_discount", "pulse_gain",
                         "switch_threshold")  # fmt: skip
    dose_fields: ClassVar[dict[str, DoseField]] = {
        "dose_cells": DoseField("cells", 0.0, 1e8, 2e6, "cells grafted"),
        "potency": DoseField("fraction", 0.0, 1.0, 1.0, "lot potency (read_lot_potency)"),
    }

    def timing_factor(self, days_since_injury: np.ndarray) -> np.ndarray:
        p = self.params
        t = np.asarray(days_since_injury, dtype=float)
        early = np.clip(0.5 + 0.5 * t / max(p.subacute_start_days, 1e-9), 0.5, 1.0)
        late = p.chronic_factor + (1 - p.chronic_factor) * np.exp(
            -np.maximum(t - p.subacute_end_days, 0.0) / 30.0
        )  # assumption: the window closes over about a month
        return np.where(
            t < p.subacute_start_days, early, np.where(t > p.subacute_end_days, late, 1.0)
        )

    def pulse_size(self, dose: dict[str, float], days_since_injury: np.ndarray) -> np.ndarray:
        """Pulse in units of `pulse_gain` (1 = reference cells, potency 1, in the window)."""
        cells = dose["dose_cells"] / self.params.reference_cells
        saturating = 2.0 * cells / (cells + 1.0)  # assumption: diminishing returns above 1e6
        return saturating * dose["potency"] * self.timing_factor(days_since_injury)

    def start(self, ctx: DayContext, dose: dict[str, float]) -> None:
        ctx.event(ctx.uniforms[:, 2] < self.params.surgical_complication,
                  "surgical_complication", "serious")  # fmt: skip
        self._pulse = self.pulse_size(dose, ctx.days_since_injury) * ctx.state.ignition_sensitivity
        self._on_day = np.full(ctx.state.n, np.nan)

    def step(self, ctx: DayContext, dose: dict[str, float], active: bool) -> Effect | None:
        p = self.params
        s = ctx.state
        k = ctx.day - ctx.start_day
        ctx.event(ctx.uniforms[:, 3] < p.overgrowth_per_year / 365.0, "graft_overgrowth", "serious")
        shape = np.exp(-k / p.pulse_tau_days) - np.exp(-(k + 1) / p.pulse_tau_days)
        x = s.repair_switch
        settled = k > 10 * p.pulse_tau_days and bool(np.all((x < 1e-3) | (x > 1 - 1e-3)))
        if not settled:  # the switch moves until the pulse is over and x sits at 0 or 1
            for _ in range(4):  # quarter-day substeps
                drift = p.switch_rate_per_day * x * (1 - x) * (x - p.switch_threshold)
                x = np.minimum(np.maximum(x + 0.25 * (drift + p.pulse_gain * self._pulse * shape),
                                          0.0), 1.0)  # fmt: skip
            s.repair_switch = x
        on = x > 0.5
        ctx.event(on & np.isnan(self._on_day), "repair_ignited", "finding")
        if not on.any():
            return None
        s.inflammation = np.where(
            on, s.inflammation * 0.95, s.inflammation
        )  # iNOS falls (CDD 2025)
        total = fraction_to_hazard(p.effect_fraction_animal * p.translational_discount)
        self._on_day = np.where(on & np.isnan(self._on_day), k, self._on_day)
        since = np.where(on, k - np.nan_to_num(self._on_day), 0.0)
        rate = on * total / p.repair_tau_days * np.exp(-since / p.repair_tau_days)
        return Effect(rate=rate, region="all", needs_drive=False)
