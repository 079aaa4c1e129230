"""Session-based therapies: rehabilitation, epidural and transcutaneous stimulation, BSI.

Each session adds an activity-dependent hazard to the key muscles below the level; it needs
spared drive (AIS B/C regained function with stimulation off, AIS A did not: Angeli 2018,
Wagner 2018, Rowald 2022, facts.md), so the engine scales it by `drive_presence`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from openbsi.recovery.parameters import param
from openbsi.recovery.state import LOWER
from openbsi.recovery.surrogate import paired_fraction
from openbsi.recovery.therapies.base import (
    DayContext,
    DoseField,
    Effect,
    Therapy,
    session_days,
)
from openbsi.recovery.types import SEGMENTS

_BWSTT = (
    "chronic AIS C/D, 60 days of body-weight-supported treadmill training vs usual care: LEMS "
    "+2.7 (-1.4 to 6.8), +0.1 m/s (facts.md 'Recovery after SCI')"
)
_DOSE = "overground distance dose correlated with gains, r=0.61 (doi:10.1089/neu.2016.4555)"
_T6 = SEGMENTS.index("T6")

_SESSIONS = DoseField("sessions/week", 0.0, 14.0, 5.0, "sessions spread evenly over the week")
_HOURS = DoseField("h/session", 0.0, 4.0, 1.0, "time on task per session")


class _SessionTherapy(Therapy):
    """Shared schedule, adherence and conditioning of session-based therapies."""

    region: ClassVar[str] = "lower"

    def may_act(
        self, days: np.ndarray, start_day: float, end_day: float | None, dose: dict[str, float]
    ) -> np.ndarray:
        """The first day (start: implant) and the session days while the therapy runs."""
        running = (days >= start_day) & (days < (np.inf if end_day is None else end_day))
        first = days == int(np.ceil(start_day))
        return first | (running & session_days(days, start_day, dose["sessions_per_week"]))

    def session_mask(self, ctx: DayContext, dose: dict[str, float], active: bool) -> np.ndarray:
        n = ctx.state.n
        if not active or not ctx.session_today(dose["sessions_per_week"]):
            return np.zeros(n, dtype=bool)
        return ctx.uniforms[:, 0] < self.params.adherence_fraction

    def condition(self, ctx: DayContext, done: np.ndarray, hours: float) -> None:
        s = ctx.state
        gain = (self.params.conditioning_per_hour * hours) * done
        s.fitness += (1.0 - s.fitness) * gain
        s.muscle_condition += (1.0 - s.muscle_condition) * gain


@dataclass(frozen=True)
class RehabilitationParams:
    hazard_max_per_session: float = param(
        0.0045, "1/session", 0.0, 0.012, "human_rct",
        f"calibrated so that 60 BWSTT sessions of ~1000 steps give LEMS ~+2.7 in chronic AIS "
        f"C/D ({_BWSTT})",
    )  # fmt: skip
    steps_half: float = param(
        500.0, "effective steps/session", 100.0, 3000.0, "assumption",
        "assumption: half-saturating daily step dose (dose-response shape not published)",
    )  # fmt: skip
    treadmill_weight: float = param(
        0.5, "fraction", 0.0, 1.0, "human_cohort",
        f"treadmill steps count less than overground steps: {_DOSE}; weight assumed",
    )  # fmt: skip
    conditioning_per_hour: float = param(
        0.01, "1/h", 0.0, 0.05, "assumption",
        "assumption: fitness and muscle condition regained per training hour",
    )  # fmt: skip
    adherence_fraction: float = param(
        0.9, "fraction", 0.6, 1.0, "assumption", "assumption: sessions attended",
    )  # fmt: skip
    fall_per_session: float = param(
        0.002, "1/session", 0.0, 0.01, "assumption",
        "assumption: falls during overground practice (no pooled rate in facts.md)",
    )  # fmt: skip


class Rehabilitation(_SessionTherapy):
    name = "rehabilitation"
    summary = "Task practice: body-weight-supported treadmill and overground walking."
    Params = RehabilitationParams
    dose_fields: ClassVar[dict[str, DoseField]] = {
        "sessions_per_week": _SESSIONS,
        "hours_per_session": _HOURS,
        "steps_per_session": DoseField("steps/session", 0.0, 10000.0, 1000.0),
        "overground_fraction": DoseField("fraction", 0.0, 1.0, 0.5, "share of steps overground"),
    }
    effect_parameters = ("hazard_max_per_session", "steps_half", "treadmill_weight")

    def per_session_hazard(self, dose: dict[str, float]) -> float:
        p = self.params
        weight = p.treadmill_weight + (1.0 - p.treadmill_weight) * dose["overground_fraction"]
        effective = dose["steps_per_session"] * weight
        return p.hazard_max_per_session * effective / (effective + p.steps_half)

    def step(self, ctx: DayContext, dose: dict[str, float], active: bool) -> Effect | None:
        done = self.session_mask(ctx, dose, active)
        if not done.any():
            return None
        self.condition(ctx, done, dose["hours_per_session"])
        falls = done & (
            ctx.uniforms[:, 1] < self.params.fall_per_session * dose["overground_fraction"]
        )
        ctx.event(falls, "fall_during_training", "mild")
        rate = done * self.per_session_hazard(dose) * ctx.state.responsiveness
        return Effect(rate=rate, region="lower", needs_drive=True)


@dataclass(frozen=True)
class StimulationParams:
    hazard_per_hour: float = param(
        0.006, "1/h of stimulation + training", 0.0, 0.02, "case_series",
        "sized so ~100 sessions let chronic AIS B/C gain function with stimulation off (Angeli "
        "2018: 81-278 sessions; Wagner 2018: voluntary control after a few months); no controls",
    )  # fmt: skip
    unpaired_weight: float = param(
        0.4, "fraction", 0.0, 1.0, "assumption",
        "assumption: share of the stimulation effect that does not need the patient's intent "
        "at the same time (activity-dependent plasticity is coincidence-driven otherwise)",
    )  # fmt: skip
    open_loop_coincidence: float = param(
        0.35, "fraction", 0.1, 0.7, "assumption",
        "assumption: share of open-loop stimulation time that coincides with the patient's "
        "own intent (pre-programmed timing during practice)",
    )  # fmt: skip
    implant_complication: float = param(
        0.05, "1/implant", 0.0, 0.15, "assumption",
        "assumption: infection / lead revision after implantation (no pooled rate in facts.md)",
    )  # fmt: skip
    dysreflexia_per_session: float = param(
        0.01, "1/session", 0.0, 0.05, "assumption",
        "assumption: autonomic dysreflexia during stimulation, injuries at T6 or above",
    )  # fmt: skip
    skin_irritation_per_session: float = param(
        0.0, "1/session", 0.0, 0.05, "assumption",
        "assumption: irritation under surface electrodes (transcutaneous only)",
    )  # fmt: skip
    conditioning_per_hour: float = param(
        0.01, "1/h", 0.0, 0.05, "assumption", "assumption: as for rehabilitation",
    )  # fmt: skip
    adherence_fraction: float = param(
        0.9, "fraction", 0.6, 1.0, "assumption", "assumption: sessions attended",
    )  # fmt: skip


class _Stimulation(_SessionTherapy):
    Params = StimulationParams
    dose_fields: ClassVar[dict[str, DoseField]] = {
        "sessions_per_week": _SESSIONS,
        "hours_per_session": _HOURS,
    }
    effect_parameters = ("hazard_per_hour", "unpaired_weight", "open_loop_coincidence")
    implanted: ClassVar[bool] = True

    def coincidence(self, ctx: DayContext, dose: dict[str, float]) -> np.ndarray:
        return np.full(ctx.state.n, self.params.open_loop_coincidence)

    def start(self, ctx: DayContext, dose: dict[str, float]) -> None:
        if self.implanted:
            ctx.event(ctx.uniforms[:, 2] < self.params.implant_complication,
                      "surgical_complication", "serious")  # fmt: skip

    def step(self, ctx: DayContext, dose: dict[str, float], active: bool) -> Effect | None:
        done = self.session_mask(ctx, dose, active)
        if not done.any():
            return None
        p = self.params
        hours = dose["hours_per_session"]
        self.condition(ctx, done, hours)
        high = ctx.state.nli_index <= _T6
        ctx.event(done & high & (ctx.uniforms[:, 1] < p.dysreflexia_per_session),
                  "autonomic_dysreflexia", "moderate")  # fmt: skip
        ctx.event(done & (ctx.uniforms[:, 3] < p.skin_irritation_per_session),
                  "skin_irritation", "mild")  # fmt: skip
        paired = p.unpaired_weight + (1.0 - p.unpaired_weight) * self.coincidence(ctx, dose)
        rate = done * p.hazard_per_hour * hours * paired * ctx.state.responsiveness
        ctx.state.plasticity += rate
        return Effect(rate=rate, region=self.region, needs_drive=True)


class EpiduralPaddle(_Stimulation):
    name = "epidural_paddle"
    summary = "Epidural stimulation of the lumbosacral cord by a 16-electrode paddle, in training."
    region = "lower"


@dataclass(frozen=True)
class NodeParams(StimulationParams):
    implant_complication: float = param(
        0.02, "1/implant", 0.0, 0.1, "assumption",
        "assumption: leadless magnetoelectric nodes need a smaller operation than a paddle",
    )  # fmt: skip


class EpiduralNodes(_Stimulation):
    name = "epidural_nodes"
    summary = "Epidural stimulation by battery-free magnetoelectric nodes, in training."
    Params = NodeParams
    region = "lower"


@dataclass(frozen=True)
class TranscutaneousParams(StimulationParams):
    hazard_per_hour: float = param(
        0.004, "1/h of stimulation + practice", 0.0, 0.015, "case_series",
        "sized so ~40 sessions (2 months, up to 20/month) move most chronic cervical AIS B-D "
        "past the MID in strength (Up-LIFT, Moritz 2024: single arm, practice-alone run-in)",
    )  # fmt: skip
    implant_complication: float = param(
        0.0, "1/implant", 0.0, 0.0, "assumption", "non-invasive: no implant",
    )  # fmt: skip
    skin_irritation_per_session: float = param(
        0.01, "1/session", 0.0, 0.05, "assumption",
        "assumption: irritation under surface electrodes (Up-LIFT counts unconfirmed)",
    )  # fmt: skip
    dysreflexia_per_session: float = param(
        0.005, "1/session", 0.0, 0.05, "assumption",
        "assumption: autonomic dysreflexia during stimulation, injuries at T6 or above",
    )  # fmt: skip


class TranscutaneousCervical(_Stimulation):
    name = "transcutaneous_cervical"
    summary = "Transcutaneous stimulation at C3-4 / C6-7 (30 Hz, 10 kHz carrier) in hand practice."
    Params = TranscutaneousParams
    region = "upper"
    implanted = False


class TranscutaneousLumbar(_Stimulation):
    name = "transcutaneous_lumbar"
    summary = "Transcutaneous lumbar stimulation during walking practice."
    Params = TranscutaneousParams
    region = "lower"
    implanted = False


class BsiStimulation(_Stimulation):
    """Epidural stimulation driven by decoded intent: plasticity follows intent-paired volleys."""

    name = "bsi"
    summary = "Brain-spine interface: decoded intent drives the paddle's programs (closed loop)."
    region = "lower"
    dose_fields: ClassVar[dict[str, DoseField]] = {
        "sessions_per_week": _SESSIONS,
        "hours_per_session": _HOURS,
        # Lorach 2023 ED Fig 4d: hip-flexion intention accuracy 0.89 +/- 0.1
        "decoder_accuracy": DoseField("fraction", 0.5, 1.0, 0.89, "decoder state accuracy"),
    }

    def coincidence(self, ctx: DayContext, dose: dict[str, float]) -> np.ndarray:
        lems = ctx.state.strength[:, :, LOWER].sum(axis=(1, 2))
        return paired_fraction(lems, dose["decoder_accuracy"])
