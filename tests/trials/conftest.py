"""Shared fixtures: small protocols from the shipped examples and ONE Ray session for all tests."""

from __future__ import annotations

import os

import pytest

from openbsi.trials.examples import example_bytes
from openbsi.trials.protocol import Protocol, parse_protocol


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


@pytest.fixture
def small():
    """small_protocol(design, n, **text_replacements)."""
    return small_protocol


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole test session (Ray's local mode no longer exists)."""
    from openbsi.trials.runners import RAY_AUTH_MODE

    os.environ.setdefault("RAY_AUTH_MODE", RAY_AUTH_MODE)
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
