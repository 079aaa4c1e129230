"""Property: any program survives save -> load unchanged."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from openbsi.states import STATES
from openbsi.stimulation.program import BACKEND_KINDS, Program, StimStep, load_program, save_program

finite = st.floats(min_value=0.0, max_value=1e4, allow_nan=False)
step = st.builds(
    StimStep,
    electrodes=st.lists(st.integers(0, 15), min_size=1, max_size=4).map(tuple),
    amplitude_ma=st.floats(min_value=0.0, max_value=100.0),  # the schema bound (program_file.py)
    pulse_width_us=finite,
    frequency_hz=finite,
    onset_ms=finite,
    duration_ms=st.one_of(st.none(), finite),
    interphase_gap_us=finite,
)
program = st.builds(
    Program,
    name=st.text(min_size=1, max_size=20),
    backend=st.sampled_from(BACKEND_KINDS),
    states=st.dictionaries(st.sampled_from(STATES), st.lists(step, max_size=3).map(tuple)),
    min_amplitude_fraction=st.floats(0.0, 1.0),
    description=st.text(max_size=40),
)


@settings(max_examples=60, deadline=None)
@given(original=program)
def test_save_then_load_returns_the_same_program(original: Program) -> None:
    with TemporaryDirectory() as folder:
        path = Path(folder) / "p.yaml"
        save_program(original, path)
        assert load_program(path) == original
