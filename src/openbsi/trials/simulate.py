"""What is simulated: the arms' plans, the batches of patients (tasks) and their results.

Seeds: patient i of trial t is simulated with
`default_rng(SeedSequence(protocol.seed, spawn_key=(t, 1, stream, i)))`. Every arm uses stream 0
(common random numbers): each arm replays the same patient's own stream with a different plan,
so a paired difference between arms is the plans' effect alone. A course therefore depends only
on (protocol, trial, patient, arm's plan, overrides), never on the batch or the runner.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from openbsi.recovery import CohortCourse, Intervention, PatientSpec, Plan, simulate_cohort
from openbsi.trials.protocol import Protocol

SimulateFn = Callable[..., CohortCourse]
COURSE_STREAM = 1  # spawn_key slot of the courses (0: cohort, 2: randomisation)


@dataclass(frozen=True)
class SimArm:
    """An arm as simulated: a protocol arm, or a crossover sequence of two arms."""

    name: str
    plan: Plan
    counterfactual: bool = False


def _shift(plan: Plan, days: float) -> tuple[Intervention, ...]:
    return tuple(
        replace(
            iv,
            start_day=iv.start_day + days,
            end_day=None if iv.end_day is None else iv.end_day + days,
        )
        for iv in plan.interventions
    )


def sim_arms(protocol: Protocol) -> tuple[SimArm, ...]:
    """Protocol arms; a crossover's two arms become the sequences `A_then_B` and `B_then_A`."""
    if protocol.design.kind != "crossover":
        return tuple(SimArm(a.name, a.plan, a.counterfactual) for a in protocol.arms)
    a, b = protocol.arms
    offset = protocol.design.period_days + protocol.design.washout_days
    return (
        SimArm(f"{a.name}_then_{b.name}", Plan(a.plan.interventions + _shift(b.plan, offset))),
        SimArm(f"{b.name}_then_{a.name}", Plan(b.plan.interventions + _shift(a.plan, offset))),
    )


@dataclass(frozen=True)
class Task:
    """One batch: patients [start, stop) of trial `trial` in simulated arm `arm`."""

    trial: int
    arm: int
    start: int
    stop: int
    patients: tuple[PatientSpec, ...]
    plan: Plan
    seed: int
    days: int
    visit_days: tuple[int, ...]
    overrides: Mapping[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"t{self.trial}-a{self.arm}-{self.start}-{self.stop}"

    @property
    def n_patient_days(self) -> int:
        return (self.stop - self.start) * self.days


@dataclass
class BatchResult:
    """A task's output; `scores[m]` is (n_batch, n_visits), `events` use batch indices."""

    key: str
    scores: dict[str, np.ndarray]
    ais: np.ndarray
    events: list[dict]
    assumption_share: float
    therapy_gain: float = float("nan")  # the batch's total therapy gain, when recovery gives it

    def to_npz(self) -> dict[str, np.ndarray]:
        arrays = {f"score_{m}": v for m, v in self.scores.items()}
        arrays["ais"] = self.ais.astype("<U1")
        arrays["events"] = np.array(json.dumps(self.events, default=float))
        arrays["assumption_share"] = np.array(self.assumption_share)
        arrays["therapy_gain"] = np.array(self.therapy_gain)
        arrays["key"] = np.array(self.key)
        return arrays

    @classmethod
    def from_npz(cls, data: Mapping[str, np.ndarray]) -> BatchResult:
        scores = {k[6:]: np.asarray(v) for k, v in data.items() if k.startswith("score_")}
        return cls(
            key=str(data["key"]),
            scores=scores,
            ais=np.asarray(data["ais"]),
            events=json.loads(str(data["events"])),
            assumption_share=float(data["assumption_share"]),
            therapy_gain=float(data["therapy_gain"]),
        )


def patient_rngs(seed: int, trial: int, start: int, stop: int) -> list[np.random.Generator]:
    return [
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(trial, COURSE_STREAM, 0, i)))
        for i in range(start, stop)
    ]


def run_task(task: Task, simulate: SimulateFn | None = None) -> BatchResult:
    """Simulate one batch (runs in whichever process the runner chose)."""
    simulate = simulate or simulate_cohort
    course = simulate(
        list(task.patients),
        task.plan,
        days=task.days,
        visit_days=list(task.visit_days),
        rngs=patient_rngs(task.seed, task.trial, task.start, task.stop),
        overrides=dict(task.overrides) or None,
    )
    events = [_plain_event(e) for e in course.events]
    return BatchResult(
        key=task.key,
        scores={m: np.asarray(v, dtype=np.float64) for m, v in course.scores.items()},
        ais=np.asarray(course.ais),
        events=events,
        assumption_share=float(course.assumption_share),
        therapy_gain=float(getattr(course, "therapy_gain", float("nan"))),
    )


def _plain_event(event: Mapping) -> dict:
    out = {}
    for k, v in event.items():
        if isinstance(v, np.generic):
            v = v.item()
        out[str(k)] = v
    return out


def make_tasks(
    protocol: Protocol,
    trial: int,
    patients: Sequence[PatientSpec],
    *,
    batch_size: int,
    arms: Sequence[int] | None = None,
    overrides: Mapping[str, float] | None = None,
) -> list[Task]:
    """Batches of `batch_size` patients for every simulated arm (or the listed ones)."""
    all_arms = sim_arms(protocol)
    chosen = range(len(all_arms)) if arms is None else arms
    tasks = []
    for a in chosen:
        for start in range(0, len(patients), batch_size):
            stop = min(start + batch_size, len(patients))
            tasks.append(
                Task(
                    trial=trial,
                    arm=a,
                    start=start,
                    stop=stop,
                    patients=tuple(patients[start:stop]),
                    plan=all_arms[a].plan,
                    seed=protocol.seed,
                    days=protocol.duration_days,
                    visit_days=protocol.visits,
                    overrides=dict(overrides or {}),
                )
            )
    return tasks


@dataclass
class ArmCourses:
    """One simulated arm's assembled courses for a whole cohort."""

    name: str
    scores: dict[str, np.ndarray]  # measure -> (n, n_visits), dropped visits already nan
    observed: np.ndarray  # (n, n_visits) bool: visit happened (not after dropout)
    ais: np.ndarray
    events: list[dict]  # patient = cohort index; events after dropout removed
    assumption_share: float
    counterfactual: bool = False


def assemble(
    protocol: Protocol,
    trial: int,
    n_patients: int,
    dropout_day: np.ndarray,
    results: Mapping[str, BatchResult],
    *,
    batch_size: int,
    arms: Sequence[int] | None = None,
    overrides: Mapping[str, float] | None = None,
) -> list[ArmCourses]:
    """Join a trial's batch results in patient order and apply dropout (visits after: nan)."""
    all_arms = sim_arms(protocol)
    chosen = range(len(all_arms)) if arms is None else arms
    visits = np.asarray(protocol.visits, dtype=float)
    observed = visits[None, :] <= dropout_day[:, None]
    out = []
    for a in chosen:
        parts = [
            results[f"t{trial}-a{a}-{s}-{min(s + batch_size, n_patients)}"]
            for s in range(0, n_patients, batch_size)
        ]
        scores = {}
        for m in parts[0].scores:
            joined = np.concatenate([p.scores[m] for p in parts], axis=0)
            scores[m] = np.where(observed, joined, np.nan)
        ais = np.concatenate([p.ais for p in parts], axis=0)
        ais = np.where(observed, ais, "")
        events = []
        for s, part in zip(range(0, n_patients, batch_size), parts, strict=True):
            for e in part.events:
                index = s + int(e["patient"])
                if float(e["day"]) <= dropout_day[index]:
                    events.append({**e, "patient": index})
        share = _pooled_share(parts)
        out.append(
            ArmCourses(
                all_arms[a].name, scores, observed, ais, events, share, all_arms[a].counterfactual
            )
        )
    return out


def _pooled_share(parts: Sequence[BatchResult]) -> float:
    """The arm's assumption share from its batches' shares.

    Exact (batch-invariant) when recovery reports each batch's therapy gain: the gain-weighted
    mean. Otherwise the patient-weighted mean of the batch shares, which can move in the last
    digits with the batch size (keep the batch size fixed when comparing runs).
    """
    shares = np.array([p.assumption_share for p in parts], dtype=float)
    gains = np.array([p.therapy_gain for p in parts], dtype=float)
    ok = np.isfinite(shares)
    if not ok.any():
        return float("nan")
    if np.isfinite(gains[ok]).all() and gains[ok].sum() > 0:
        return float(np.dot(shares[ok], gains[ok]) / gains[ok].sum())
    sizes = np.array([len(p.ais) for p in parts], dtype=float)[ok]
    return float(np.dot(shares[ok], sizes) / sizes.sum())
