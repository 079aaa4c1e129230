"""Virtual cohorts: a referral population, the eligibility screen, allocation and dropout.

The population model draws correlated (grade, level, age, time since injury) through a Gaussian
copula, so each marginal stays exactly at its calibration while the correlations hold. The grade
mix is EMSCI's; the other marginals and the correlations are labelled assumptions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from openbsi.recovery import PatientSpec
from openbsi.trials.protocol import LEVELS, Population, Protocol

# EMSCI cohort grade mix A/B/C/D about 31/17/30/22 % (facts.md, "Recovery after SCI: natural
# history"); E is not enrolled in SCI cohorts.
GRADE_MIX = {"A": 0.31, "B": 0.17, "C": 0.30, "D": 0.22}
# Assumption: neurological level mix of traumatic SCI registries, cervical ~55 %, thoracic ~30 %,
# lumbosacral ~15 %, cervical peaking at C4-C5 (no EMSCI level histogram in facts.md).
_LEVEL_WEIGHTS = {
    **dict(zip(LEVELS[:8], (1, 3, 8, 14, 13, 9, 5, 2), strict=True)),  # C1..C8 -> 55
    **{f"T{i}": 30 / 12 for i in range(1, 13)},
    **dict(zip(("L1", "L2", "L3", "L4", "L5"), (5, 3, 2, 1.5, 1), strict=True)),
    **{f"S{i}": 2.5 / 5 for i in range(1, 6)},
}
# Assumption: age at injury roughly lognormal, median 50 y, 10-90 % about 24-78 y; 18-90 kept.
AGE_MEDIAN_YEARS = 50.0
AGE_LOG_SD = 0.42
AGE_RANGE_YEARS = (18.0, 90.0)
# Assumption: the referral pool's time since injury: 30 % acute/subacute (log-uniform 0.5-180 days),
# 70 % chronic (log-uniform 180 days - 25 years); a screen then keeps the protocol's window.
ACUTE_SHARE = 0.30
ACUTE_DAYS = (0.5, 180.0)
CHRONIC_DAYS = (180.0, 25 * 365.25)
MALE_SHARE = 0.80  # assumption: ~80 % male in traumatic SCI registries
ERA = 2020
# Assumption: copula correlations on (grade index A..D, level index C1..S5, age); older patients
# more often cervical and incomplete (falls), so grade-age +0.25, level-age -0.25, grade-level -0.1.
COPULA_CORRELATION = np.array([[1.0, -0.10, 0.25], [-0.10, 1.0, -0.25], [0.25, -0.25, 1.0]])


def _inverse_categorical(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cumulative, u, side="right"), len(weights) - 1)


def sample_referrals(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """`n` referred candidates: arrays ais, nli, age_years, days_since_injury, sex."""
    chol = np.linalg.cholesky(COPULA_CORRELATION)
    z = rng.standard_normal((n, 3)) @ chol.T
    u = ndtr(z)
    grades = np.array(list(GRADE_MIX))
    ais = grades[_inverse_categorical(u[:, 0], np.array(list(GRADE_MIX.values())))]
    levels = np.array(LEVELS)
    nli = levels[_inverse_categorical(u[:, 1], np.array([_LEVEL_WEIGHTS[x] for x in LEVELS]))]
    age = np.clip(AGE_MEDIAN_YEARS * np.exp(AGE_LOG_SD * z[:, 2]), *AGE_RANGE_YEARS)
    acute = rng.random(n) < ACUTE_SHARE
    lo = np.where(acute, ACUTE_DAYS[0], CHRONIC_DAYS[0])
    hi = np.where(acute, ACUTE_DAYS[1], CHRONIC_DAYS[1])
    days = np.exp(np.log(lo) + rng.random(n) * (np.log(hi) - np.log(lo)))
    sex = np.where(rng.random(n) < MALE_SHARE, "male", "female")
    return {"ais": ais, "nli": nli, "age_years": age, "days_since_injury": days, "sex": sex}


def screen_reasons(candidates: dict[str, np.ndarray], population: Population) -> np.ndarray:
    """Per candidate the first failed criterion ("" = eligible), in a real screen's order."""
    level_index = np.array([LEVELS.index(x) for x in candidates["nli"]])
    reasons = np.full(len(level_index), "", dtype="<U18")
    checks = [
        ("ais", ~np.isin(candidates["ais"], population.ais)),
        (
            "level",
            (level_index < LEVELS.index(population.nli_from))
            | (level_index > LEVELS.index(population.nli_to)),
        ),
        (
            "age",
            (candidates["age_years"] < population.age_years[0])
            | (candidates["age_years"] > population.age_years[1]),
        ),
        (
            "time_since_injury",
            (candidates["days_since_injury"] < population.days_since_injury[0])
            | (candidates["days_since_injury"] > population.days_since_injury[1]),
        ),
    ]
    for name, failed in reversed(checks):  # the first criterion in order wins
        reasons[failed] = name
    return reasons


@dataclass(frozen=True)
class Cohort:
    """The enrolled virtual patients of one trial, with the screen's counts."""

    patients: tuple[PatientSpec, ...]
    n_screened: int
    screen_failures: dict[str, int]
    allocation: np.ndarray  # (n,) index into the protocol's trial arms (crossover: sequence)
    dropout_day: np.ndarray  # (n,) day of dropping out, inf = completes
    strata: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))

    @property
    def n_enrolled(self) -> int:
        return len(self.patients)


def _stratum_keys(patients: list[PatientSpec], by: tuple[str, ...]) -> np.ndarray:
    keys = []
    for p in patients:
        parts = []
        for s in by:
            if s == "ais":
                parts.append(p.ais)
            elif s == "level":
                parts.append("cervical" if p.nli.startswith("C") else "other")
            else:
                parts.append("65+" if p.age_years >= 65 else "<65")
        keys.append("|".join(parts) or "all")
    return np.array(keys)


def allocate(
    strata: np.ndarray, weights: tuple[float, ...], rng: np.random.Generator
) -> np.ndarray:
    """Stratified permuted-block randomisation; blocks hold each arm in proportion to weights."""
    w = np.asarray(weights, dtype=float)
    per_block = np.maximum(1, np.round(w / w.min()).astype(int)) * 2  # block of 2 x ratio
    block = np.repeat(np.arange(len(w)), per_block)
    out = np.empty(len(strata), dtype=int)
    for key in sorted(set(strata.tolist())):
        members = np.flatnonzero(strata == key)
        n_blocks = -(-len(members) // len(block))
        sequence = np.concatenate([rng.permutation(block) for _ in range(n_blocks)])
        out[members] = sequence[: len(members)]
    return out


def build_cohort(protocol: Protocol, trial: int, *, n: int | None = None) -> Cohort:
    """Screen referrals until `n` (default: the protocol's enrolment) are enrolled.

    Everything random comes from SeedSequence(seed, spawn_key=(trial, 0)) (referrals),
    (trial, 3) (dropout) and (trial, 2) (randomisation), so a trial's cohort is fixed by
    (protocol, trial), and enrolling more patients only adds patients after the first ones.
    """
    target = protocol.n_enrolled if n is None else n
    rng = np.random.default_rng(np.random.SeedSequence(protocol.seed, spawn_key=(trial, 0)))
    enrolled: list[PatientSpec] = []
    failures: Counter[str] = Counter()
    screened = 0
    chunk = 1024  # fixed: the first k patients are the same whatever the enrolment target
    while len(enrolled) < target and screened < protocol.max_screened:
        size = min(chunk, protocol.max_screened - screened)
        cand = sample_referrals(size, rng)
        reasons = screen_reasons(cand, protocol.population)
        for i in range(size):
            screened += 1
            if reasons[i]:
                failures[reasons[i]] += 1
                continue
            enrolled.append(
                PatientSpec(
                    patient_id=f"t{trial}-p{len(enrolled):06d}",
                    nli=str(cand["nli"][i]),
                    ais=str(cand["ais"][i]),
                    age_years=round(float(cand["age_years"][i]), 2),
                    days_since_injury=round(float(cand["days_since_injury"][i]), 1),
                    sex=str(cand["sex"][i]),
                    era=ERA,
                )
            )
            if len(enrolled) == target:
                break
    k = len(enrolled)
    drop_rng = np.random.default_rng(np.random.SeedSequence(protocol.seed, spawn_key=(trial, 3)))
    u = drop_rng.random((k, 2))  # row i is patient i's: prefix-stable in k
    dropout_day = np.where(
        u[:, 0] < protocol.dropout_fraction, u[:, 1] * protocol.duration_days, np.inf
    )
    strata = _stratum_keys(enrolled, protocol.design.stratify_by)
    n_groups = len(protocol.trial_arms) if protocol.design.kind != "crossover" else 2
    weights = protocol.design.allocation or (1.0,) * n_groups
    alloc_rng = np.random.default_rng(np.random.SeedSequence(protocol.seed, spawn_key=(trial, 2)))
    allocation = allocate(strata, weights, alloc_rng) if n_groups > 1 else np.zeros(k, int)
    return Cohort(
        tuple(enrolled), screened, dict(sorted(failures.items())), allocation, dropout_day, strata
    )
