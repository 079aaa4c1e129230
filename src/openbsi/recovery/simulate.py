"""The course engine: a cohort stepped in days under one plan, vectorised across patients.

Patient i draws its random numbers only from rngs[i], in a fixed layout (enrolment block, a
daily model block, the visit block, then one daily block per intervention), so its course is
the same whatever the batch it is simulated in, and arms that share days, visits and the first
interventions share those draws.
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
    CohortState,
    inflammation_curve,
    initial_state,
    scar_curve,
)
from openbsi.recovery.therapies.base import UNIFORMS_PER_INTERVENTION, DayContext, Therapy
from openbsi.recovery.therapies.registry import get_therapy, therapy_names
from openbsi.recovery.types import MEASURES, SEGMENTS, CohortCourse, PatientSpec, Plan

N_MODEL_UNIFORMS = 2
_T6 = SEGMENTS.index("T6")
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


def _draw(rngs: Sequence[np.random.Generator], days: int, n_visits: int, n_iv: int):
    """Each patient's draws in a fixed order: enrolment, daily model block, visits, then one
    daily block per intervention (so adding an intervention leaves the earlier draws alone:
    arms of a trial share their random numbers up to the plan)."""
    n = len(rngs)
    k_day = N_MODEL_UNIFORMS + UNIFORMS_PER_INTERVENTION * n_iv
    z0 = np.empty((n, N_INIT_NORMALS))
    u0 = np.empty((n, N_INIT_UNIFORMS))
    u_day = np.empty((days, n, k_day))
    z_visit = np.empty((n_visits, n, N_VISIT_NORMALS))
    for i, rng in enumerate(rngs):
        z0[i] = rng.standard_normal(N_INIT_NORMALS)
        u0[i] = rng.random(N_INIT_UNIFORMS)
        u_day[:, i, :N_MODEL_UNIFORMS] = rng.random((days, N_MODEL_UNIFORMS))
        z_visit[:, i, :] = rng.standard_normal((n_visits, N_VISIT_NORMALS))
        for k in range(n_iv):
            lo = N_MODEL_UNIFORMS + k * UNIFORMS_PER_INTERVENTION
            u_day[:, i, lo : lo + UNIFORMS_PER_INTERVENTION] = rng.random(
                (days, UNIFORMS_PER_INTERVENTION)
            )
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
    course, _ = run_course(patients, plan, days=days, visit_days=visit_days, rngs=rngs,
                           overrides=overrides)  # fmt: skip
    return course


def run_course(
    patients: Sequence[PatientSpec],
    plan: Plan,
    *,
    days: int,
    visit_days: Sequence[int],
    rngs: Sequence[np.random.Generator],
    overrides: Mapping[str, float] | None = None,
) -> tuple[CohortCourse, CohortState | None]:
    """simulate_cohort, and the cohort's state on the last day (None for an empty cohort)."""
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
    z0, u0, u_day, z_visit = _draw(rngs, days, visits.size, n_iv)
    if n == 0:
        empty = {m: np.zeros((0, visits.size)) for m in MEASURES if m != "ais"}
        course = CohortCourse(visits, empty, np.zeros((0, visits.size), "<U1"), [], float("nan"))
        return course, None
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
    dsi_grid = state.days_since_injury[None, :] + np.arange(days + 1)[:, None]
    infl_grid = inflammation_curve(dsi_grid)
    scar_grid = scar_curve(dsi_grid)
    high_lesion = state.nli_index <= _T6
    m_up = (state.below & UPPER[None, :])[:, None, :].astype(float)
    m_lo = (state.below & LOWER[None, :])[:, None, :].astype(float)
    m_root = (state.zpp | state.at_level)[:, None, :].astype(float)
    relax = np.exp(-1.0 / _ENV_RELAX_DAYS)
    contexts = [
        DayContext(day=0, start_day=iv.start_day, end_day=iv.end_day, state=state,
                   uniforms=u_day[0, :, :0], model=model, events=events, name=iv.therapy)
        for iv in plan.interventions
    ]  # fmt: skip
    started = [False] * n_iv
    # Without a therapy that touches the lesion environment it is the injury's own timeline,
    # set on the days it is looked at instead of every day.
    env_daily = any(t.uses_environment for t in therapies)

    def sync_environment(day_index: int) -> None:
        if not env_daily:
            state.inflammation = infl_grid[day_index].copy()
            state.scar = scar_grid[day_index].copy()
            state.cavity = 0.5 * state.scar

    visit_k = 0

    sens_rate = model.sensory_lambda * state.sensory_drive  # sensation: closed form in H(t)
    sacral_sensory0 = state.sacral_sensory.copy()
    sensory_fraction0 = state.sensory_fraction.copy()

    def sync_sensation(day_index: int) -> None:
        elapsed = clock[day_index] - clock[0]
        state.sacral_sensory = 2.0 - (2.0 - sacral_sensory0) * np.exp(-sens_rate * elapsed)
        late = state.late_sparing_day <= day_index
        if late.any():  # late sacral sparing (A -> B)
            state.sacral_sensory = np.where(late, np.maximum(state.sacral_sensory, 1.0),
                                            state.sacral_sensory)  # fmt: skip
        state.sensory_fraction = 1.0 - (1.0 - sensory_fraction0) * np.exp(
            -0.5 * sens_rate * elapsed
        )

    def record(day_index: int) -> None:
        nonlocal visit_k
        if visit_k < visits.size and visits[visit_k] == day_index:
            sync_sensation(day_index)
            sync_environment(day_index)
        while visit_k < visits.size and visits[visit_k] == day_index:
            out = assess(state, z_visit[visit_k], model)
            ais[:, visit_k] = out["ais"]
            for m in scores:
                scores[m][:, visit_k] = out[m]
            visit_k += 1

    # A quiet day is one on which no intervention can act (no session, nothing started):
    # consecutive quiet days up to the next visit are one exact step, since the natural hazards
    # add and the deficits multiply.
    quiet = np.ones(days, dtype=bool)
    for therapy, iv, dose in zip(therapies, plan.interventions, doses, strict=True):
        quiet &= ~therapy.may_act(np.arange(days), iv.start_day, iv.end_day, dose)
    visit_set = {int(v) for v in visits}
    decay = 1.0 - 0.002  # disuse drift per day (assumption, below)

    def natural_stretch(d0: int, d1: int) -> None:
        dh = clock[d1] - clock[d0]
        lam = model.lambda_max * dh[:, None] * state.spared_drive
        root = model.root_recovery_lambda * dh
        rates = lam[:, :, None] * (m_up + m_lo) + root[:, None, None] * m_root
        gain = (5.0 - state.strength) * -np.expm1(-rates)
        state.strength += gain
        gains[:, 0] += gain.sum(axis=(1, 2))
        state.sacral_motor += (5.0 - state.sacral_motor) * -np.expm1(-lam.mean(axis=1))
        if env_daily:  # the therapies' pushes relax; the injury's timeline goes on
            push = relax ** (d1 - d0)
            state.inflammation = infl_grid[d1] + (state.inflammation - infl_grid[d0]) * push
            state.scar = np.clip(scar_grid[d1] + (state.scar - scar_grid[d0]) * push, 0.0, 1.0)
            state.cavity = 0.5 * state.scar
        factor = decay ** (d1 - d0)
        state.muscle_condition = 0.4 + (state.muscle_condition - 0.4) * factor
        state.fitness = 0.4 + (state.fitness - 0.4) * factor

    record(0)
    d = 0
    while d < days:
        if quiet[d]:
            e = d + 1
            while e < days and quiet[e] and e not in visit_set:
                e += 1
            natural_stretch(d, e)
            record(e)
            d = e
            continue
        u = u_day[d]
        dh = d_clock[d]
        lam = model.lambda_max * dh[:, None] * state.spared_drive  # (n, 2)
        root = model.root_recovery_lambda * dh  # (n,)
        r_up = lam
        r_lo = lam
        applied: list[tuple[int, np.ndarray, str]] = []
        presence = None
        for k, (therapy, iv, dose) in enumerate(
            zip(therapies, plan.interventions, doses, strict=True)
        ):
            if d < iv.start_day:
                continue
            ctx = contexts[k]
            ctx.day = d
            lo = N_MODEL_UNIFORMS + k * UNIFORMS_PER_INTERVENTION
            ctx.uniforms = u[:, lo : lo + UNIFORMS_PER_INTERVENTION]
            if not started[k]:  # the first course day at or after start_day
                started[k] = True
                therapy.start(ctx, dose)
            active = therapy.single_event or iv.end_day is None or d < iv.end_day
            effect = therapy.step(ctx, dose, active)
            if effect is None:
                continue
            if effect.needs_drive:
                if presence is None:
                    presence = state.drive_presence()
                r = effect.rate[:, None] * presence
            else:
                r = np.repeat(effect.rate[:, None], 2, axis=1)
            if effect.region != "lower":
                r_up = r_up + r
            if effect.region != "upper":
                r_lo = r_lo + r
            applied.append((k + 1, r, effect.region))
        rates = r_up[:, :, None] * m_up + r_lo[:, :, None] * m_lo + root[:, None, None] * m_root
        gain = (5.0 - state.strength) * -np.expm1(-rates)
        state.strength += gain
        if applied:  # attribute today's gain to its sources, in proportion to their hazards
            share = np.divide(gain, rates, out=np.zeros_like(gain), where=rates > 0)
            s_up = (share * m_up).sum(axis=2)
            s_lo = (share * m_lo).sum(axis=2)
            gains[:, 0] += (lam * (s_up + s_lo)).sum(axis=1) + root * (share * m_root).sum(
                axis=(1, 2)
            )
            for c, r, region in applied:
                s = s_lo if region == "lower" else s_up if region == "upper" else s_up + s_lo
                gains[:, c] += (r * s).sum(axis=1)
        else:
            gains[:, 0] += gain.sum(axis=(1, 2))
        # Sacral motor (VAC) follows the drive-dependent hazard of the lower cord.
        state.sacral_motor += (5.0 - state.sacral_motor) * -np.expm1(-r_lo.mean(axis=1))
        # Lesion environment: the injury's own time course plus therapies' pushes, relaxing.
        if env_daily:
            state.inflammation = infl_grid[d + 1] + (state.inflammation - infl_grid[d]) * relax
            state.scar = np.clip(scar_grid[d + 1] + (state.scar - scar_grid[d]) * relax, 0.0, 1.0)
            state.cavity = 0.5 * state.scar
        # Disuse: muscle condition and fitness drift down slowly without training (assumption).
        state.muscle_condition -= (1.0 - decay) * (state.muscle_condition - 0.4)
        state.fitness -= (1.0 - decay) * (state.fitness - 0.4)
        record(d + 1)
        d += 1
    sync_sensation(days)
    sync_environment(days)
    ad_days, ad_patients = np.nonzero((u_day[:, :, 0] < DYSREFLEXIA_PER_DAY) & high_lesion[None, :])
    events.extend(
        {"patient": int(i), "day": int(d), "kind": "autonomic_dysreflexia",
         "severity": "moderate", "therapy": None}
        for d, i in zip(ad_days, ad_patients, strict=True)
    )  # fmt: skip
    events.sort(key=lambda e: (e["day"], e["patient"]))
    therapy_gain = gains.sum()
    share = (
        float(np.sum(gains.sum(axis=0) * weights) / therapy_gain)
        if therapy_gain > 0
        else float("nan")
    )
    course = CohortCourse(
        visit_days=visits, scores=scores, ais=ais, events=events, assumption_share=share
    )
    return course, state
