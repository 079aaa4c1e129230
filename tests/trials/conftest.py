"""Shared fixtures: small protocols from the shipped examples and ONE Ray session for all tests."""

from __future__ import annotations

import os

import numpy as np
import pytest

from openbsi.recovery import MEASURES, CohortCourse
from openbsi.trials.examples import example_bytes
from openbsi.trials.protocol import Protocol, parse_protocol
from openbsi.trials.runners import RAY_AUTH_MODE

# Before anything imports Ray: the same setting as the CLI's Ray runner (Ray accepts "disabled"
# or "token"; >= 2.59 turns token authentication on for new local clusters by default).
os.environ.setdefault("RAY_AUTH_MODE", RAY_AUTH_MODE)


def small_protocol(design: str = "uplift", n: int = 24, **replace: str) -> Protocol:
    """A shipped example with fewer patients (and any other text replacements)."""
    text = example_bytes(design).decode()
    start = text.index("enrolment:")
    line_start = text.index("  n: ", start)
    line_end = text.index("\n", line_start)
    text = text[:line_start] + f"  n: {n}" + text[line_end:]
    for old, new in replace.items():
        text = text.replace(old, new)
    return parse_protocol(text.encode(), source=f"{design}-small.yaml")


def fake_course(patients, plan, *, days, visit_days, rngs, overrides=None) -> CohortCourse:
    """A tiny stand-in course: each patient's numbers come from its own generator only."""
    visits = np.asarray(visit_days, dtype=float)
    gain = 1.0 + 0.5 * len(plan.interventions) + (overrides or {}).get("fake.gain", 0.0)
    scores = {m: np.empty((len(patients), len(visits))) for m in MEASURES if m != "ais"}
    events = []
    for i, rng in enumerate(rngs):
        if rng.random() < 0.3:
            events.append({"patient": i, "day": 3.0, "kind": "skin", "severity": "mild",
                           "therapy": "x"})  # fmt: skip
        base = rng.uniform(5, 30, size=len(scores))
        slope = rng.gamma(2.0, gain / 60, size=len(scores))
        for j, m in enumerate(scores):
            scores[m][i] = base[j] + slope[j] * visits
    ais = np.full((len(patients), len(visits)), "C", dtype="<U1")
    return CohortCourse(visits, scores, ais, events, 0.25)


@pytest.fixture(name="fake_course")
def fake_course_fixture():
    """A stand-in for recovery.simulate_cohort (unit tests of the trial machinery only)."""
    return fake_course


@pytest.fixture
def small():
    """small_protocol(design, n, **text_replacements)."""
    return small_protocol


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole test session (Ray's local mode no longer exists)."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            object_store_memory=200 * 1024**2,
        )
    yield ray
    ray.shutdown()
