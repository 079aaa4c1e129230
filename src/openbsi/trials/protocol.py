"""Trial protocol files: the schema (docs/trials.md), the strict loader and the arms' plans.

A protocol is YAML read through `openbsi.inputs` (strict YAML, checked fields); every error is one
`InputError` line naming the file and the field. Arms are recovery `Plan`s, checked by
`openbsi.recovery.validate_plan`, so an unknown therapy or a negative dose is refused by the
stage that knows the therapies.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from openbsi.inputs import InputError, load_yaml, mapping, number, sequence, string
from openbsi.recovery import MEASURES, Intervention, Plan, therapy_names, validate_plan

DESIGNS = ("single_arm_run_in", "parallel", "crossover")
AIS_GRADES = ("A", "B", "C", "D", "E")
LEVELS = tuple(
    [f"C{i}" for i in range(1, 9)]
    + [f"T{i}" for i in range(1, 13)]
    + [f"L{i}" for i in range(1, 6)]
    + [f"S{i}" for i in range(1, 6)]
)
STRATIFIERS = ("ais", "level", "age")  # level: cervical vs not; age: < 65 vs >= 65
NUMERIC_MEASURES = tuple(m for m in MEASURES if m != "ais")
SUCCESS_RULES = ("rate_lower_ci_above", "difference_lower_ci_above")
MAX_DAYS = 3650  # a 10-year trial is the longest accepted
MAX_ENROLLED = 200_000
MAX_BYTES = 200_000

_TOP = (
    "name",
    "description",
    "seed",
    "duration_days",
    "design",
    "population",
    "enrolment",
    "dropout",
    "arms",
    "visits",
    "assessments",
    "endpoints",
    "primary",
    "success",
)


@dataclass(frozen=True)
class Population:
    """Eligibility: who a screen admits."""

    ais: tuple[str, ...]
    nli_from: str
    nli_to: str
    age_years: tuple[float, float]
    days_since_injury: tuple[float, float]


@dataclass(frozen=True)
class Design:
    kind: str
    run_in_days: float = 0.0  # single_arm_run_in: endpoints count from the end of the run-in
    stratify_by: tuple[str, ...] = ()  # parallel / crossover randomisation strata
    allocation: tuple[float, ...] = ()  # parallel: weight per arm (default equal)
    period_days: float = 0.0  # crossover: length of each treatment period
    washout_days: float = 0.0  # crossover: gap between the periods


@dataclass(frozen=True)
class Arm:
    name: str
    plan: Plan
    counterfactual: bool = False  # simulated on the same patients, not part of the real trial


@dataclass(frozen=True)
class Endpoint:
    """Responder: change of `measure` from `from_day` to `to_day` >= `mcid`; or all of others."""

    name: str
    measure: str | None = None
    mcid: float | None = None
    from_day: float | None = None
    to_day: float | None = None
    all_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class Success:
    rule: str
    threshold: float
    arm: str | None = None  # rate rule: the arm; difference rule: the treatment arm
    versus: str | None = None  # difference rule: the comparator arm


@dataclass(frozen=True)
class Protocol:
    name: str
    description: str
    seed: int
    duration_days: int
    design: Design
    population: Population
    n_enrolled: int
    max_screened: int
    dropout_fraction: float
    arms: tuple[Arm, ...]
    visits: tuple[int, ...]
    assessments: tuple[str, ...]
    endpoints: tuple[Endpoint, ...]
    primary: str
    success: Success
    sha256: str
    source: str

    @property
    def trial_arms(self) -> tuple[Arm, ...]:
        return tuple(a for a in self.arms if not a.counterfactual)

    def endpoint(self, name: str) -> Endpoint:
        return next(e for e in self.endpoints if e.name == name)

    @property
    def baseline_day(self) -> float:
        """The day changes are counted from (the end of the run-in, or enrolment)."""
        return self.design.run_in_days if self.design.kind == "single_arm_run_in" else 0.0


def protocol_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _range(value: Any, *, source: str, field: str, low: float, high: float) -> tuple[float, float]:
    items = sequence(value, source=source, field=field, max_len=2)
    if len(items) != 2:
        raise InputError(source, field, "must be [low, high]", value=value)
    lo = float(number(items[0], source=source, field=f"{field}[0]", low=low, high=high))
    hi = float(number(items[1], source=source, field=f"{field}[1]", low=low, high=high))
    if hi < lo:
        raise InputError(source, field, "high is below low", value=value)
    return lo, hi


def _population(raw: Any, source: str) -> Population:
    keys = ("ais", "nli_from", "nli_to", "age_years", "days_since_injury")
    raw = mapping(raw, source=source, field="population", allowed=keys, required=keys)
    grades = sequence(raw["ais"], source=source, field="population.ais", max_len=5)
    if not grades:
        raise InputError(source, "population.ais", "must name at least one grade")
    ais = tuple(
        string(g, source=source, field=f"population.ais[{i}]", choices=AIS_GRADES)
        for i, g in enumerate(grades)
    )
    lo = string(raw["nli_from"], source=source, field="population.nli_from", choices=LEVELS)
    hi = string(raw["nli_to"], source=source, field="population.nli_to", choices=LEVELS)
    if LEVELS.index(hi) < LEVELS.index(lo):
        raise InputError(source, "population.nli_to", f"is rostral to nli_from {lo}", value=hi)
    age = _range(raw["age_years"], source=source, field="population.age_years", low=0, high=110)
    dsi = _range(
        raw["days_since_injury"],
        source=source,
        field="population.days_since_injury",
        low=0,
        high=36500,
    )
    return Population(ais, lo, hi, age, dsi)


def _design(raw: Any, source: str, n_arms: int, duration: int) -> Design:
    allowed = ("kind", "run_in_days", "stratify_by", "allocation", "period_days", "washout_days")
    raw = mapping(raw, source=source, field="design", allowed=allowed, required=("kind",))
    kind = string(raw["kind"], source=source, field="design.kind", choices=DESIGNS)
    strata = tuple(
        string(s, source=source, field=f"design.stratify_by[{i}]", choices=STRATIFIERS)
        for i, s in enumerate(
            sequence(raw.get("stratify_by", []), source=source, field="design.stratify_by")
        )
    )
    if len(set(strata)) != len(strata):
        raise InputError(source, "design.stratify_by", "repeats a stratifier", value=list(strata))
    run_in = float(
        number(
            raw.get("run_in_days", 0),
            source=source,
            field="design.run_in_days",
            low=0,
            high=duration,
        )
    )
    if kind == "single_arm_run_in" and "run_in_days" not in raw:
        raise InputError(source, "design.run_in_days", "is required for single_arm_run_in")
    allocation: tuple[float, ...] = ()
    if "allocation" in raw:
        weights = sequence(raw["allocation"], source=source, field="design.allocation")
        allocation = tuple(
            float(number(w, source=source, field=f"design.allocation[{i}]", low=1e-6, high=1e6))
            for i, w in enumerate(weights)
        )
        if len(allocation) != n_arms:
            raise InputError(
                source,
                "design.allocation",
                "needs one weight per trial arm",
                limit=n_arms,
                value=len(allocation),
            )
    period = float(
        number(
            raw.get("period_days", 0),
            source=source,
            field="design.period_days",
            low=0,
            high=MAX_DAYS,
        )
    )
    washout = float(
        number(
            raw.get("washout_days", 0),
            source=source,
            field="design.washout_days",
            low=0,
            high=MAX_DAYS,
        )
    )
    if kind == "crossover":
        if n_arms != 2:
            raise InputError(source, "arms", "a crossover compares exactly 2 arms", value=n_arms)
        if period <= 0:
            raise InputError(source, "design.period_days", "is required for crossover (> 0)")
        if 2 * period + washout > duration:
            raise InputError(
                source,
                "design.period_days",
                "2 periods + washout exceed duration_days",
                limit=duration,
                value=2 * period + washout,
            )
    if kind == "single_arm_run_in" and n_arms != 1:
        raise InputError(
            source,
            "arms",
            "single_arm_run_in has one trial arm (others: counterfactual: true)",
            value=n_arms,
        )
    if kind == "parallel" and n_arms < 2:
        raise InputError(source, "arms", "a parallel design needs >= 2 trial arms", value=n_arms)
    return Design(kind, run_in, strata, allocation, period, washout)


def _intervention(raw: Any, source: str, field: str, duration: int) -> Intervention:
    keys = ("therapy", "start_day", "end_day", "dose")
    raw = mapping(raw, source=source, field=field, allowed=keys, required=("therapy", "start_day"))
    therapy = string(
        raw["therapy"], source=source, field=f"{field}.therapy", choices=therapy_names()
    )
    start = float(
        number(raw["start_day"], source=source, field=f"{field}.start_day", low=0, high=duration)
    )
    end = raw.get("end_day")
    if end is not None:
        end = float(number(end, source=source, field=f"{field}.end_day", low=start, high=duration))
    dose_raw = mapping(raw.get("dose", {}), source=source, field=f"{field}.dose")
    dose: dict[str, float] = {}
    for key, value in dose_raw.items():
        if key == "lot_potency":
            raise InputError(
                source,
                f"{field}.dose.lot_potency",
                "lot potency files are not accepted in trial protocols",
            )
        dose[key] = float(
            number(value, source=source, field=f"{field}.dose.{key}", low=-1e15, high=1e15)
        )
    return Intervention(therapy=therapy, start_day=start, end_day=end, dose=dose)


def _check_with_recovery(iv: Intervention, source: str, field: str) -> None:
    """recovery's own dose ranges, re-raised with the protocol's field path."""
    try:
        validate_plan(Plan((iv,)), source=source)
    except InputError as error:
        tail = error.field.removeprefix("interventions[0]")
        raise InputError(
            source, f"{field}{tail}", error.problem, limit=error.limit, value=error.value
        ) from None


def _arms(raw: Any, source: str, duration: int) -> tuple[Arm, ...]:
    items = sequence(raw, source=source, field="arms", max_len=16)
    if not items:
        raise InputError(source, "arms", "must list at least one arm")
    arms: list[Arm] = []
    for i, item in enumerate(items):
        field = f"arms[{i}]"
        item = mapping(
            item,
            source=source,
            field=field,
            allowed=("name", "counterfactual", "interventions"),
            required=("name", "interventions"),
        )
        name = string(item["name"], source=source, field=f"{field}.name", max_len=64)
        if not name.replace("_", "").replace("-", "").isalnum():
            raise InputError(source, f"{field}.name", "letters, digits, - and _ only", value=name)
        if any(a.name == name for a in arms):
            raise InputError(source, f"{field}.name", "duplicate arm name", value=name)
        cf = item.get("counterfactual", False)
        if not isinstance(cf, bool):
            raise InputError(source, f"{field}.counterfactual", "must be true or false", value=cf)
        raw_iv = sequence(
            item["interventions"], source=source, field=f"{field}.interventions", max_len=32
        )
        plan = Plan(
            tuple(
                _intervention(iv, source, f"{field}.interventions[{j}]", duration)
                for j, iv in enumerate(raw_iv)
            )
        )
        for j, iv in enumerate(plan.interventions):
            _check_with_recovery(iv, source, f"{field}.interventions[{j}]")
        arms.append(Arm(name, plan, cf))
    return tuple(arms)


def _endpoints(raw: Any, source: str, visits: tuple[int, ...], measures: tuple[str, ...]):
    items = sequence(raw, source=source, field="endpoints", max_len=32)
    if not items:
        raise InputError(source, "endpoints", "must list at least one endpoint")
    out: list[Endpoint] = []
    for i, item in enumerate(items):
        field = f"endpoints[{i}]"
        item = mapping(
            item,
            source=source,
            field=field,
            allowed=("name", "measure", "mcid", "from_day", "to_day", "all_of"),
            required=("name",),
        )
        name = string(item["name"], source=source, field=f"{field}.name", max_len=64)
        if any(e.name == name for e in out):
            raise InputError(source, f"{field}.name", "duplicate endpoint name", value=name)
        if "all_of" in item:
            parts = sequence(item["all_of"], source=source, field=f"{field}.all_of", max_len=8)
            names = tuple(
                string(
                    p,
                    source=source,
                    field=f"{field}.all_of[{j}]",
                    choices=[e.name for e in out if not e.all_of],
                )
                for j, p in enumerate(parts)
            )
            if len(names) < 2:
                raise InputError(source, f"{field}.all_of", "needs >= 2 earlier endpoints")
            out.append(Endpoint(name, all_of=names))
            continue
        for key in ("measure", "mcid", "from_day", "to_day"):
            if key not in item:
                raise InputError(source, f"{field}.{key}", "is required")
        measure = string(
            item["measure"],
            source=source,
            field=f"{field}.measure",
            choices=[m for m in measures if m in NUMERIC_MEASURES],
        )
        mcid = float(number(item["mcid"], source=source, field=f"{field}.mcid", low=1e-9, high=1e4))
        days = []
        for key in ("from_day", "to_day"):
            day = number(
                item[key], source=source, field=f"{field}.{key}", low=0, high=MAX_DAYS, integer=True
            )
            if day not in visits:
                raise InputError(
                    source,
                    f"{field}.{key}",
                    "is not a visit day",
                    limit=f"one of {list(visits)}",
                    value=day,
                )
            days.append(float(day))
        if days[1] <= days[0]:
            raise InputError(source, f"{field}.to_day", "must be after from_day", value=days[1])
        out.append(Endpoint(name, measure, mcid, days[0], days[1]))
    return tuple(out)


def parse_protocol(data: bytes, *, source: str = "<protocol>") -> Protocol:
    """A checked `Protocol` from YAML bytes, or an `InputError` naming the field."""
    raw = load_yaml(data, source=source, max_bytes=MAX_BYTES)
    raw = mapping(
        raw,
        source=source,
        field="",
        allowed=_TOP,
        required=(
            "name",
            "seed",
            "duration_days",
            "design",
            "population",
            "enrolment",
            "arms",
            "visits",
            "assessments",
            "endpoints",
            "primary",
            "success",
        ),
    )
    name = string(raw["name"], source=source, field="name", max_len=128)
    description = string(
        raw.get("description", ""), source=source, field="description", max_len=4000
    )
    seed = int(
        number(raw["seed"], source=source, field="seed", low=0, high=2**63 - 1, integer=True)
    )
    duration = int(
        number(
            raw["duration_days"],
            source=source,
            field="duration_days",
            low=1,
            high=MAX_DAYS,
            integer=True,
        )
    )
    population = _population(raw["population"], source)
    enrol = mapping(
        raw["enrolment"],
        source=source,
        field="enrolment",
        allowed=("n", "max_screened"),
        required=("n",),
    )
    n = int(
        number(
            enrol["n"], source=source, field="enrolment.n", low=1, high=MAX_ENROLLED, integer=True
        )
    )
    max_screened = int(
        number(
            enrol.get("max_screened", 100 * n),
            source=source,
            field="enrolment.max_screened",
            low=n,
            high=100 * MAX_ENROLLED,
            integer=True,
        )
    )
    drop = mapping(
        raw.get("dropout", {"fraction": 0.0}),
        source=source,
        field="dropout",
        allowed=("fraction",),
        required=("fraction",),
    )
    dropout = float(
        number(drop["fraction"], source=source, field="dropout.fraction", low=0, high=0.95)
    )
    arms = _arms(raw["arms"], source, duration)
    n_trial_arms = sum(not a.counterfactual for a in arms)
    design = _design(raw["design"], source, n_trial_arms, duration)
    raw_visits = sequence(raw["visits"], source=source, field="visits", max_len=500)
    visits = tuple(
        int(number(v, source=source, field=f"visits[{i}]", low=0, high=duration, integer=True))
        for i, v in enumerate(raw_visits)
    )
    if len(visits) < 2 or list(visits) != sorted(set(visits)):
        raise InputError(source, "visits", "must be >= 2 increasing days", value=list(visits))
    if design.kind == "single_arm_run_in" and design.run_in_days not in visits:
        raise InputError(
            source, "design.run_in_days", "must be a visit day", value=design.run_in_days
        )
    if design.kind == "crossover":
        p, w = design.period_days, design.washout_days
        for day in (0, p, p + w, 2 * p + w):
            if day not in visits:
                raise InputError(
                    source,
                    "visits",
                    "a crossover needs visits at 0, period end, second period start and end",
                    value=day,
                )
    raw_measures = sequence(raw["assessments"], source=source, field="assessments", max_len=16)
    assessments = tuple(
        string(m, source=source, field=f"assessments[{i}]", choices=MEASURES)
        for i, m in enumerate(raw_measures)
    )
    if not assessments or len(set(assessments)) != len(assessments):
        raise InputError(
            source, "assessments", "must list distinct measures", value=list(assessments)
        )
    endpoints = _endpoints(raw["endpoints"], source, visits, assessments)
    if design.kind == "crossover":
        _check_crossover(source, design, arms, endpoints, visits)
    primary = string(
        raw["primary"], source=source, field="primary", choices=[e.name for e in endpoints]
    )
    success = _success(raw["success"], source, arms, design)
    return Protocol(
        name,
        description,
        seed,
        duration,
        design,
        population,
        n,
        max_screened,
        dropout,
        arms,
        visits,
        assessments,
        endpoints,
        primary,
        success,
        protocol_sha256(data),
        source,
    )


def _check_crossover(source, design, arms, endpoints, visits) -> None:
    """Arms in period-relative days within one period; endpoints evaluable in both periods."""
    offset = design.period_days + design.washout_days
    for i, arm in enumerate(arms):
        for j, iv in enumerate(arm.plan.interventions):
            end = iv.start_day if iv.end_day is None else iv.end_day
            if end > design.period_days:
                raise InputError(
                    source,
                    f"arms[{i}].interventions[{j}].end_day",
                    "a crossover arm must fit in one period",
                    limit=design.period_days,
                    value=end,
                )
    for i, e in enumerate(endpoints):
        if e.all_of:
            continue
        if e.to_day > design.period_days:
            raise InputError(
                source,
                f"endpoints[{i}].to_day",
                "must lie in the first period",
                limit=design.period_days,
                value=e.to_day,
            )
        for key, day in (("from_day", e.from_day), ("to_day", e.to_day)):
            if day + offset not in visits:
                raise InputError(
                    source,
                    f"endpoints[{i}].{key}",
                    "needs a visit at the same day of the second period",
                    value=day + offset,
                )


def _success(raw: Any, source: str, arms: tuple[Arm, ...], design: Design) -> Success:
    raw = mapping(
        raw,
        source=source,
        field="success",
        allowed=("rule", "threshold", "arm", "versus"),
        required=("rule", "threshold"),
    )
    rule = string(raw["rule"], source=source, field="success.rule", choices=SUCCESS_RULES)
    threshold = float(
        number(raw["threshold"], source=source, field="success.threshold", low=-1, high=1)
    )
    names = [a.name for a in arms]
    trial = [a.name for a in arms if not a.counterfactual]
    if design.kind == "crossover":
        names = trial = [a.name for a in arms]
    arm = raw.get("arm", trial[0])
    arm = string(arm, source=source, field="success.arm", choices=trial)
    versus = None
    if rule == "difference_lower_ci_above":
        if "versus" not in raw:
            raise InputError(source, "success.versus", "is required for a difference rule")
        versus = string(
            raw["versus"],
            source=source,
            field="success.versus",
            choices=[n for n in names if n != arm],
        )
    return Success(rule, threshold, arm, versus)


def load_protocol(path: str | os.PathLike[str]) -> tuple[Protocol, bytes]:
    """The checked protocol and the exact bytes it was read from (their SHA-256 is recorded)."""
    from openbsi.inputs import read_limited

    data = read_limited(path, max_bytes=MAX_BYTES, source=str(path))
    return parse_protocol(data, source=str(path)), data
