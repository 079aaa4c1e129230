"""Strict YAML and checked fields: what is refused, and a fuzz test of the invariant."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbsi.inputs import InputError, load_yaml, mapping, number, read_limited, sequence, string


def test_plain_document_loads() -> None:
    data = load_yaml(b"a: 1\nb: [1.5, two, true]\nc: {d: on}\n")
    assert data == {"a": 1, "b": [1.5, "two", True], "c": {"d": "on"}}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"a: 1\na: 2\n", "duplicate key"),
        (b"states:\n  rest: 1\nstates:\n  walk: 2\n", "duplicate key"),
        (b"a: &x [1]\nb: *x\n", "anchors are not allowed"),
        (b"b: *x\n", "aliases are not allowed"),
        (b"a: !!python/object:os.system {}\n", "tags are not allowed"),
        (b"a: !!str 1\n", "tags are not allowed"),
        (b"a: {<<: {b: 1}}\n", "merge keys"),
        (b"a: " + b"9" * 400 + b"\n", "integer too long"),
        (b"a: 10000000000000000\n", "integer too large"),
        (b"a: .inf\n", "finite"),
        (b"a: 1.0e+400\n", "finite"),
        (b"a: \x00\n", "malformed YAML"),
        (b"? [1, 2]\n: 3\n", "plain scalar"),
        (b"a: [\n", "malformed YAML"),
        (b"a: 1\n---\nb: 2\n", "malformed YAML"),
        (b"\xff\xfe", "UTF-8"),
        (b"[" * 40 + b"]" * 40, "nested too deeply"),
    ],
)
def test_hostile_documents_are_refused_in_one_line(text: bytes, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        load_yaml(text, source="p.yaml")
    message = str(caught.value)
    assert message.startswith("p.yaml: ")
    assert problem in message
    assert "\n" not in message


def test_alias_bomb_is_refused_quickly() -> None:
    lines = [b"a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 9).encode()
        lines.append(b"a%d: &a%d [" % (i, i) + refs + b"]")
    start = time.perf_counter()
    with pytest.raises(InputError, match="anchors"):
        load_yaml(b"\n".join(lines))
    assert time.perf_counter() - start < 1.0


def test_size_limit_names_the_file(tmp_path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: 1\n" * 100)
    expected = r"big.yaml: file: is too large \(limit 50 bytes, got 500\)"
    with pytest.raises(InputError, match=expected):
        load_yaml(path, max_bytes=50)
    with pytest.raises(InputError, match="does not exist"):
        read_limited(tmp_path / "missing.yaml", max_bytes=10)
    with pytest.raises(InputError, match="not a regular file"):
        read_limited(tmp_path, max_bytes=10)


def test_fields_name_the_field_limit_and_value() -> None:
    assert number(2, source="s", field="x", low=0, high=5) == 2.0
    assert number(3.0, source="s", field="n", low=0, high=5, integer=True) == 3
    with pytest.raises(InputError, match=r"s: states.rest.amplitude_ma: out of range \(limit"):
        number(9.0, source="s", field="states.rest.amplitude_ma", low=0, high=8)
    for bad in (True, "1", None, float("nan"), [1]):
        with pytest.raises(InputError):
            number(bad, source="s", field="x", low=0, high=5)
    with pytest.raises(InputError, match="must be an integer"):
        number(2.5, source="s", field="n", low=0, high=5, integer=True)
    assert string("paddle", source="s", field="k", choices=["paddle", "nodes"]) == "paddle"
    with pytest.raises(InputError, match="unknown value"):
        string("laser", source="s", field="k", choices=["paddle", "nodes"])
    with pytest.raises(InputError, match="too long"):
        string("x" * 300, source="s", field="k")
    with pytest.raises(InputError, match=r"s: top.extra: unknown field"):
        mapping({"a": 1, "extra": 2}, source="s", field="top", allowed=["a"])
    with pytest.raises(InputError, match=r"s: top.b: is required"):
        mapping({"a": 1}, source="s", field="top", required=["b"])
    with pytest.raises(InputError, match="too many items"):
        sequence([0] * 11, source="s", field="l", max_len=10)


_TOKENS = [*"ab:-[]{},&*!<>|'\"#?%@`\n\t 019.e+_~", "!!python/", "<<", "  ", "\n- ", ": "]
_YAMLISH = st.lists(st.sampled_from(_TOKENS), max_size=150).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_YAMLISH)
def test_fuzz_any_text_is_a_value_or_an_input_error(text: str) -> None:
    start = time.perf_counter()
    try:
        load_yaml(text.encode("utf-8"), source="fuzz.yaml")
    except InputError as error:
        assert "\n" not in str(error)
        assert str(error).startswith("fuzz.yaml: ")
    assert time.perf_counter() - start < 1.0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_any_bytes_is_a_value_or_an_input_error(data: bytes) -> None:
    try:
        load_yaml(data, source="fuzz.yaml")
    except InputError as error:
        assert "\n" not in str(error)
