"""Fuzzing the loaders of programs, session logs and recordings (NWB).

Invariant for each: a valid object (or verdict), or a clean refusal (InputError / a verdict that
says not ok), within a time and memory bound; never another exception, never a hang.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbsi.inputs import InputError, load_yaml
from openbsi.safety.program_check import validate_program
from openbsi.stimulation.examples import WALKING_PROGRAM_FILE
from openbsi.stimulation.program_file import program_from_data
from openbsi.store.nwb import log_to_nwb
from openbsi.store.synthetic import record_synthetic_session
from openbsi.store.verify import verify_log, verify_nwb

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
WALKING = WALKING_PROGRAM_FILE.read_bytes()
TIME_BOUND_S = 2.0
MEMORY_BOUND_MB = 200.0


def _bounded(call):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        return call()
    finally:
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert elapsed < TIME_BOUND_S, f"took {elapsed:.2f} s"
        assert peak / 1e6 < MEMORY_BOUND_MB, f"peak {peak / 1e6:.0f} MB"


def _program_or_refusal(text: bytes) -> None:
    def run() -> None:
        try:
            program = program_from_data(load_yaml(text, source="fuzz.yaml"), source="fuzz.yaml")
        except InputError as error:
            assert "\n" not in str(error) and str(error).startswith("fuzz.yaml")
            return
        validate_program(program)  # the check itself is bounded too

    _bounded(run)


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**30), 10**30),
    st.sampled_from([0, 0.01, 1e-9, 1e6, 599_999.0, -1, 10**400]),
)
keys = st.sampled_from(
    [
        "amplitude_ma",
        "pulse_width_us",
        "frequency_hz",
        "onset_ms",
        "duration_ms",
        "period_ms",
        "interphase_gap_us",
        "electrodes",
        "scaled",
        "volume",
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    state=st.sampled_from(["rest", "left_hip", "left_knee", "unknown"]),
    key=keys,
    value=numbers,
    n_steps=st.integers(1, 66),
)
def test_hostile_program_fields(state: str, key: str, value: object, n_steps: int) -> None:
    data = yaml.safe_load(WALKING)
    step = {
        "electrodes": [1],
        "amplitude_ma": 2.0,
        "pulse_width_us": 300,
        "frequency_hz": 40,
        "duration_ms": 300,
        "period_ms": 2000,
    }
    step[key] = value if not isinstance(value, int) or abs(value) < 10**300 else str(value)
    data["states"][state] = [dict(step, onset_ms=float(i)) for i in range(n_steps)]
    _program_or_refusal(yaml.safe_dump(data).encode())


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(0, len(WALKING)), junk=st.binary(max_size=40), at=st.integers(0, 4000))
def test_mangled_program_text(cut: int, junk: bytes, at: int) -> None:
    text = WALKING[:cut] if cut % 2 else WALKING[:at] + junk + WALKING[at:]
    _program_or_refusal(text)


HOSTILE_YAML = [
    b"states: !!python/object/apply:os.system ['echo pwned']",
    b"a: &x [1, 2]\nb: *x\n",
    b"[" * 500 + b"]" * 500,
    b"name: p\nname: q\nbackend: paddle\nstates: {}\n",
    b"schema_version: " + b"9" * 400,
    b"lol: &a ['x','x']\nlol2: &b [*a,*a]\nlol3: [*b,*b]\n",
    b"\xff\xfe\x00garbage",
    b"states:\n  rest:\n  - {electrodes: [1], amplitude_ma: 2.0, pulse_width_us: 300, "
    b"frequency_hz: 40, amplitude_ma: 9.0}\n",
]


@pytest.mark.parametrize("text", HOSTILE_YAML)
def test_known_hostile_programs_are_refused(text: bytes) -> None:
    with pytest.raises(InputError):
        program_from_data(load_yaml(text, source="hostile.yaml"), source="hostile.yaml")


def test_a_tiny_period_and_a_huge_onset_check_in_bounded_time() -> None:
    from openbsi.stimulation.program import Program, StimStep

    steps = tuple(
        StimStep((i % 16,), 1.0, 300.0, 40.0, onset_ms=1e6 + i, duration_ms=0.005, period_ms=0.01)
        for i in range(64)
    )
    program = Program("p", "paddle", {"left_hip": steps})
    _bounded(lambda: validate_program(program))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    folder = tmp_path_factory.mktemp("fuzz")
    rec = record_synthetic_session(folder, np.random.default_rng(2), seconds=1.0, n_channels=2)
    nwb = log_to_nwb(rec.log_path, folder / "r.nwb")
    return rec.log_path.read_bytes(), nwb.read_bytes()


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mangled_logs_give_a_verdict(recorded: tuple[bytes, bytes], data: st.DataObject) -> None:
    log = bytearray(recorded[0])
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(log) - 1))
        log[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(log)))
    with TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.obsilog"
        path.write_bytes(bytes(log[: max(cut, len(log) // 2)]))
        verdict = _bounded(lambda: verify_log(path))
    assert isinstance(verdict["ok"], bool) and isinstance(verdict["problems"], list)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mangled_recordings_give_a_verdict(
    recorded: tuple[bytes, bytes], data: st.DataObject
) -> None:
    nwb = bytearray(recorded[1])
    for _ in range(data.draw(st.integers(1, 16))):
        at = data.draw(st.integers(0, len(nwb) - 1))
        nwb[at] ^= 1 << data.draw(st.integers(0, 7))
    with TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.nwb"
        path.write_bytes(bytes(nwb))
        start = time.perf_counter()
        verdict = verify_nwb(path)
        assert time.perf_counter() - start < 30.0
    assert isinstance(verdict["ok"], bool) and isinstance(verdict["problems"], list)
