"""The course engine: a cohort stepped in days under one plan, vectorised across patients.

Patient i draws its random numbers only from rngs[i], in a fixed layout (enrolment block,
then a (days, k) daily block, then a (visits, m) assessment block), so its course is the same
whatever the batch it is simulated in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from openbsi.inputs import InputError
from openbsi.recovery.assessments import N_VISIT_NORMALS, assess
from openbsi.recovery.model import ModelParams, recovery_clock
from openbsi.recovery.parameters import apply_overrides
from openbsi.recovery.plans import MAX_COURSE_DAYS, validate_patient, validate_plan
from openbsi.recovery.state import (
    LOWER,
    N_INIT_NORMALS,
    N_INIT_UNIFORMS,
    UPPER,
    inflammation_curve,
    initial_state,
    scar_curve,
)
from openbsi.recovery.therapies.base import UNIFORMS_PER_INTERVENTION, DayContext, Therapy
from openbsi.recovery.therapies.registry import get_therapy, therapy_names
from openbsi.recovery.types import MEASURES, CohortCourse, PatientSpec, Plan

N_MODEL_UNIFORMS = 2
_T6 = 13  # SEGMENTS.index("T6")
# Assumption: spontaneous autonomic dysreflexia episodes needing treatment, injuries at T6 or
# above (common in that group; no rate in facts.md).
DYSREFLEXIA_PER_DAY = 0.002
_REGION = {"all": np.ones(10, bool), "upper": UPPER, "lower": LOWER}
_ENV_RELAX_DAYS = 7.0  # assumption: a therapy's push on inflammation / scar relaxes over a week


def _split_overrides(
    overrides: Mapping[str, float] | None, plan: Plan
) -> tuple[ModelParams, list[Therapy]]:
    source = "overrides"
    overrides = dict(overrides or {})
    names = set(therapy_names())
    for key in overrides:
        head, dot, _ = key.partition(".")
        if not dot or (head != "model" and head not in names):
            raise InputError(source, key, "unknown parameter",
                             limit="model.<param> or <therapy>.<param>")  # fmt: skip
    model = apply_overrides(ModelParams(), "model", overrides, source=source)
    for name in names:  # an unknown field of any therapy is refused, used or not
        cls = get_therapy(name)
        apply_overrides(cls.Params(), name, overrides, source=source)
    therapies = []
    for iv in plan.interventions:
        cls = get_therapy(iv.therapy)
        therapies.append(cls(apply_overrides(cls.Params(), iv.therapy, overrides, source=source)))
    return model, therapies


def _draw(rngs: Sequence[np.random.Generator], days: int, n_visits: int, k_day: int):
    n = len(rngs)
    z0 = np.empty((n, N_INIT_NORMALS))
    u0 = np.empty((n, N_INIT_UNIFORMS))
    u_day = np.empty((days, n, k_day))
    z_visit = np.empty((n_visits, n, N_VISIT_NORMALS))
    for i, rng in enumerate(rngs):
        z0[i] = rng.standard_normal(N_INIT_NORMALS)
        u0[i] = rng.random(N_INIT_UNIFORMS)
        u_day[:, i, :] = rng.random((days, k_day))
        z_visit[:, i, :] = rng.standard_normal((n_visits, N_VISIT_NORMALS))
    return z0, u0, u_day, z_visit


def simulate_cohort(
    patients: Sequence[PatientSpec],
    plan: Plan,
    *,
    days: int,
    visit_days: Sequence[int],
    rngs: Sequence[np.random.Generator],
    overrides: Mapping[str, float] | None = None,
) -> CohortCourse:
    """Every patient's course under `plan` for `days` days, assessed on `visit_days`."""
    source = "simulate_cohort"
    if (
        isinstance(days, bool)
        or not isinstance(days, int | np.integer)
        or not 0 <= days <= MAX_COURSE_DAYS
    ):
        raise InputError(source, "days", "must be an integer", limit=f"[0, {MAX_COURSE_DAYS}]",
                         value=days)  # fmt: skip
    if len(rngs) != len(patients):
        raise InputError(source, "rngs", "one Generator per patient", limit=len(patients),
                         value=len(rngs))  # fmt: skip
    visits = np.array(sorted({int(v) for v in visit_days}), dtype=int)
    if visits.size and (visits[0] < 0 or visits[-1] > days):
        raise InputError(source, "visit_days", "outside the course", limit=f"[0, {days}]",
                         value=list(visit_days))  # fmt: skip
    for k, spec in enumerate(patients):
        validate_patient(spec, source=f"patients[{k}]")
    validate_plan(plan, source="plan")
    model, therapies = _split_overrides(overrides, plan)
    n = len(patients)
    n_iv = len(therapies)
    k_day = N_MODEL_UNIFORMS + UNIFORMS_PER_INTERVENTION * n_iv
    z0, u0, u_day, z_visit = _draw(rngs, days, visits.size, k_day)
    if n == 0:
        empty = {m: np.zeros((0, visits.size)) for m in MEASURES if m != "ais"}
        return CohortCourse(visits, empty, np.zeros((0, visits.size), "<U1"), [], float("nan"))
    state = initial_state(patients, z0, u0, model)
    events: list[dict] = []
    doses = [
        t.resolve_dose(dict(iv.dose)) for t, iv in zip(therapies, plan.interventions, strict=True)
    ]
    weights = np.array([0.0] + [t.assumption_weight() for t in therapies])
    gains = np.zeros((n, 1 + n_iv))  # natural, then each intervention
    scores = {m: np.full((n, visits.size), np.nan) for m in MEASURES if m != "ais"}
    ais = np.empty((n, visits.size), dtype="<U1")
    clock = recovery_clock(state.days_since_injury[None, :] + np.arange(days + 1)[:, None], model)
    d_clock = np.diff(clock, axis=0)  # (days, n)
    high_lesion = state.nli_index <= _T6
    below = state.below[:, None, :]
    zpp_or_level = (state.zpp | state.at_level)[:, None, :]
    visit_k = 0

    def record(day_index: int) -> None:
        nonlocal visit_k
        while visit_k < visits.size and visits[visit_k] == day_index:
            out = assess(state, z_visit[visit_k], model)
            ais[:, visit_k] = out["ais"]
            for m in scores:
                scores[m][:, visit_k] = out[m]
            visit_k += 1

    record(0)
    for d in range(days):
        u = u_day[d]
        dsi = state.days_since_injury + d
        dh = d_clock[d]
        lam = model.lambda_max * state.spared_drive * dh[:, None]  # (n, 2)
        rates = (
            below * lam[:, :, None]
            + zpp_or_level * (model.root_recovery_lambda * dh)[:, None, None]
        )
        parts = [rates.copy()]
        sacral_rate = lam.mean(axis=1)  # VAC follows the drive-dependent hazard only
        for k, (therapy, iv, dose) in enumerate(
            zip(therapies, plan.interventions, doses, strict=True)
        ):
            if d < iv.start_day:
                parts.append(None)
                continue
            ctx = DayContext(day=d, start_day=iv.start_day, end_day=iv.end_day, state=state,
                             uniforms=u[:, N_MODEL_UNIFORMS + k * UNIFORMS_PER_INTERVENTION:
                                        N_MODEL_UNIFORMS + (k + 1) * UNIFORMS_PER_INTERVENTION],
                             model=model, events=events, name=iv.therapy)  # fmt: skip
            if int(np.floor(iv.start_day)) == d:
                therapy.start(ctx, dose)
            active = iv.end_day is None or d < iv.end_day
            if therapy.single_event:
                active = True
            effect = therapy.step(ctx, dose, active)
            if effect is None:
                parts.append(None)
                continue
            r = effect.rate[:, None]
            r = r * state.drive_presence() if effect.needs_drive else np.broadcast_to(r, (n, 2))
            mask = below & _REGION[effect.region][None, None, :]
            part = mask * r[:, :, None]
            rates = rates + part
            parts.append(part)
            if effect.region != "upper":
                sacral_rate = sacral_rate + r.mean(axis=1)
        deficit = 5.0 - state.strength
        gain = deficit * -np.expm1(-rates)
        state.strength = state.strength + gain
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(rates > 0, gain / rates, 0.0)
        for c, part in enumerate(parts):
            if part is not None:
                gains[:, c] += np.sum(share * part, axis=(1, 2))
        # Sacral motor (VAC) follows the far-below hazard, averaged over sides.
        state.sacral_motor += (5.0 - state.sacral_motor) * -np.expm1(-sacral_rate)
        sens = -np.expm1(-model.sensory_lambda * state.sensory_drive * dh)
        state.sacral_sensory += (2.0 - state.sacral_sensory) * sens
        state.sensory_fraction += (1.0 - state.sensory_fraction) * sens * 0.5
        # Lesion environment: the injury's own time course plus therapies' pushes, relaxing.
        relax = np.exp(-1.0 / _ENV_RELAX_DAYS)
        state.inflammation = (
            inflammation_curve(dsi + 1) + (state.inflammation - inflammation_curve(dsi)) * relax
        )
        state.scar = np.clip(scar_curve(dsi + 1) + (state.scar - scar_curve(dsi)) * relax, 0.0, 1.0)
        state.cavity = 0.5 * state.scar
        # Disuse: muscle condition and fitness drift down slowly without training (assumption).
        state.muscle_condition -= 0.002 * (state.muscle_condition - 0.4)
        state.fitness -= 0.002 * (state.fitness - 0.4)
        ad = high_lesion & (u[:, 0] < DYSREFLEXIA_PER_DAY)
        for i in np.flatnonzero(ad):
            events.append({"patient": int(i), "day": d, "kind": "autonomic_dysreflexia",
                           "severity": "moderate", "therapy": None})  # fmt: skip
        record(d + 1)
    therapy_gain = gains.sum()
    share = (
        float(np.sum(gains.sum(axis=0) * weights) / therapy_gain)
        if therapy_gain > 0
        else float("nan")
    )
    return CohortCourse(visit_days=visits, scores=scores, ais=ais, events=events,
                        assumption_share=share)  # fmt: skip
