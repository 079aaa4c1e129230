"""A natural-history cohort and its summary beside the published ranges (facts.md).

The cohort is enrolled at week 4 after injury (EMSCI's first full visit; proportional recovery
is measured weeks 4 -> 48) and followed to 1 year after injury.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from openbsi.recovery.simulate import simulate_cohort
from openbsi.recovery.types import AIS_GRADES, CohortCourse, PatientSpec, Plan

# EMSCI grade mix A/B/C/D about 31/17/30/22 % (facts.md, "Recovery after SCI").
GRADE_MIX = {"A": 0.31, "B": 0.17, "C": 0.30, "D": 0.22}
TETRAPLEGIA_SHARE = 0.55  # assumption: about half of traumatic SCI is cervical
ENROL_DAY = 28  # week 4 after injury
WEEK48_COURSE_DAY = 48 * 7 - ENROL_DAY

# Published ranges at 1 year (facts.md "Recovery after SCI: natural history").
PUBLISHED = {
    "A_to_incomplete": (
        0.154,
        0.302,
    ),  # Marino 1999, Spiess 2009, van Middendorp 2009, Kirshblum 2016
    "C_to_D": (0.667, 0.848),  # Marino 1999, Spiess 2009, Kirshblum 2016
    "D_stays_D": (0.84, 1.0),
    "D_to_E": (0.0, 0.156),
    "ais_d_proportional_slope": (0.59, 0.59),  # Nat Commun 2023 (EMSCI n=748)
    "tetra_A_uems_gain": (9.0, 11.0),  # SCIMS (Kirshblum 2021)
}
BARS = {
    "A_to_incomplete": (0.15, 0.31),
    "C_to_D": (0.66, 0.86),
    "D_stays_D": (0.84, 1.0),
    "ais_d_proportional_slope": (0.45, 0.75),
}


def sample_patients(n: int, rng: np.random.Generator, *, era: int = 2010) -> list[PatientSpec]:
    """n patients at week 4 after injury with the EMSCI grade mix."""
    grades = rng.choice(list(GRADE_MIX), size=n, p=list(GRADE_MIX.values()))
    tetra = rng.random(n) < TETRAPLEGIA_SHARE
    cervical = [f"C{i}" for i in range(4, 9)]  # assumption: C4-C8 (C1-C3 rarely survive to rehab)
    lower = [f"T{i}" for i in range(1, 13)] + ["L1", "L2"]
    levels = np.where(tetra, rng.choice(cervical, size=n), rng.choice(lower, size=n))
    ages = np.clip(rng.normal(45.0, 18.0, size=n), 16.0, 85.0)  # assumption
    return [
        PatientSpec(
            f"nh-{k:05d}", str(levels[k]), str(grades[k]), float(ages[k]), float(ENROL_DAY), era=era
        )
        for k in range(n)
    ]


def run_natural_history(n: int, months: int, seed: int) -> tuple[list[PatientSpec], CohortCourse]:
    root = np.random.SeedSequence(seed)
    cohort_seed, *patient_seeds = root.spawn(n + 1)
    patients = sample_patients(n, np.random.default_rng(cohort_seed))
    # Followed until `months` after injury (enrolled at week 4).
    days = max(round(months * 365.25 / 12.0) - ENROL_DAY, 1)
    visits = sorted({0, min(WEEK48_COURSE_DAY, days), days})
    rngs = [np.random.default_rng(s) for s in patient_seeds]
    return patients, simulate_cohort(patients, Plan(), days=days, visit_days=visits, rngs=rngs)


def _ols_slope(x: np.ndarray, y: np.ndarray) -> float | None:
    if x.size < 3 or np.ptp(x) == 0:
        return None
    return float(np.polyfit(x, y, 1)[0])


def summarise(patients: list[PatientSpec], course: CohortCourse, months: int) -> dict[str, Any]:
    """The conversion table by grade and level and the motor-score gains."""
    base = course.ais[:, 0]
    end = course.ais[:, -1]
    tetra = np.array([p.tetraplegia for p in patients])

    def table(mask: np.ndarray) -> dict[str, dict[str, float | int | None]]:
        out = {}
        for g in ("A", "B", "C", "D"):
            rows = mask & (base == g)
            k = int(rows.sum())
            entry: dict[str, float | int | None] = {"n": k}
            for to in AIS_GRADES:
                if to == g:
                    continue
                entry[f"to_{to}"] = float(np.mean(end[rows] == to)) if k else None
            entry["unchanged"] = float(np.mean(end[rows] == g)) if k else None
            if g == "A":
                entry["to_incomplete"] = float(np.mean(end[rows] != "A")) if k else None
            out[g] = entry
        return out

    def gains(measure: str) -> dict[str, dict[str, float | None]]:
        s = course.scores[measure]
        d = s[:, -1] - s[:, 0]
        out = {}
        for g in ("A", "B", "C", "D"):
            for label, m in (
                ("all", np.ones_like(tetra)),
                ("tetraplegia", tetra),
                ("paraplegia", ~tetra),
            ):
                rows = (base == g) & m
                key = g if label == "all" else f"{g}_{label}"
                out[key] = {
                    "mean": float(np.mean(d[rows])) if rows.any() else None,
                    "sd": float(np.std(d[rows], ddof=1)) if rows.sum() > 1 else None,
                }
        return out

    # Proportional recovery in AIS D: total motor score gain weeks 4 -> 48 on what was available.
    k48 = int(np.searchsorted(course.visit_days, min(WEEK48_COURSE_DAY, course.visit_days[-1])))
    total = course.scores["uems"] + course.scores["lems"]
    d_rows = base == "D"
    available = 100.0 - total[d_rows, 0]
    gain = total[d_rows, k48] - total[d_rows, 0]
    conv = table(np.ones_like(tetra))
    return {
        "n": len(patients),
        "months": months,
        "conversion": conv,
        "by_level": {"tetraplegia": table(tetra), "paraplegia": table(~tetra)},
        "uems_gain": gains("uems"),
        "lems_gain": gains("lems"),
        "proportional_recovery": {
            "ais_d_slope": _ols_slope(available, gain),
            "ais_d_ratio_of_means": float(gain.mean() / available.mean())
            if available.size and available.mean() > 0
            else None,
            "weeks": [4, 4 + int(course.visit_days[k48] // 7)],
        },
        "published": {k: list(v) for k, v in PUBLISHED.items()},
        "bars": {k: list(v) for k, v in BARS.items()},
    }
