"""Fuzz the protocol loader: a Protocol or one clean InputError line, never another exception,
within a time bound."""

from __future__ import annotations

import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbsi.inputs import InputError
from openbsi.trials.examples import example_bytes
from openbsi.trials.protocol import Protocol, parse_protocol

BASE = yaml.safe_load(example_bytes("bsi-walking"))
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12), st.lists(st.integers(-5, 400), max_size=6),
    st.dictionaries(st.text(max_size=6), st.integers(-3, 3), max_size=3),
)  # fmt: skip


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(BASE) if p]


def _set(doc, path, value):
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _check(data: bytes) -> None:
    start = time.perf_counter()
    try:
        result = parse_protocol(data, source="fuzz.yaml")
        assert isinstance(result, Protocol)
    except InputError as error:
        assert str(error).startswith("fuzz.yaml") and "\n" not in str(error)
    assert time.perf_counter() - start < 2.0


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), LEAVES), min_size=1, max_size=3))
def test_mutated_protocols_load_or_fail_cleanly(edits) -> None:
    doc = yaml.safe_load(example_bytes("bsi-walking"))
    for path, value in edits:
        try:
            _set(doc, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed the parent
    _check(yaml.safe_dump(doc).encode())


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_fail_cleanly(data: bytes) -> None:
    _check(data)
