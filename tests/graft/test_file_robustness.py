"""Every real file is read or refused in one line; damaged copies are refused, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbsi.graft.ephys import analyse_recording
from openbsi.graft.ephys_io import read_recording
from openbsi.graft.fcs import read_fcs
from openbsi.inputs import InputError

from .conftest import ABF_DIR, abf_path, fcsparser_files

# fcsparser's files that FlowIO-based reading must refuse, and why (checked by hand):
REFUSED_FCS = {
    "corrupted.fcs": "too short",  # 10 bytes
    "sample_header.fcs": "data section greater than file size",  # a header without its data
    "fake_large_fcs.fcs": "not a readable FCS file",  # a TEXT segment of blanks
}
TIME_BOUND_S = 10.0  # generous: the bound guards against hangs on a shared 2-core machine


def test_every_shared_abf_file_is_read() -> None:
    files = sorted(ABF_DIR.glob("*.abf")) if ABF_DIR.is_dir() else []
    if not files:
        pytest.skip(f"real ABF folder absent: {ABF_DIR}")
    for path in files:
        recording = read_recording(path)
        assert recording.n_sweeps >= 1 and recording.response.shape == recording.command.shape


def test_every_fcsparser_file_is_read_or_refused_in_one_line() -> None:
    files = fcsparser_files()
    if not files:
        pytest.skip("fcsparser is not installed: its wheel ships the real FCS test files")
    assert len(files) >= 16
    read = 0
    for path in files:
        if path.name in REFUSED_FCS:
            with pytest.raises(InputError) as caught:
                read_fcs(path)
            message = str(caught.value)
            assert "\n" not in message and str(path) in message
            assert REFUSED_FCS[path.name] in message
        else:
            sample = read_fcs(path)
            assert sample.n_events > 0 and sample.events.shape[1] == len(sample.channels)
            read += 1
    assert read >= 12
    cytek = read_fcs(next(p for p in files if p.name == "Cytek_xP5.fcs"))
    assert "24-bit integer data decoded by OpenBSI" in cytek.notes[0]
    assert cytek.n_events == 23126 and cytek.channels[1] == "FSC"
    assert cytek.events[:, 1].max() == 1023.0  # $P2R = 1024: big-endian decoding is in range
    assert cytek.events[:, 3].min() >= 1.0  # FL1 is 4-decade log: 10 ** (4 x / 1024) >= 1


def _damaged(data: bytes, cut: int | None, flips: list[tuple[int, int]]) -> bytes:
    buffer = bytearray(data if cut is None else data[:cut])
    for position, bit in flips:
        if buffer:
            buffer[position % len(buffer)] ^= 1 << bit
    return bytes(buffer)


def _fuzz_case(original: Path, tmp: Path, cut, flips, reader) -> None:
    path = tmp / ("damaged" + original.suffix)
    path.write_bytes(_damaged(original.read_bytes(), cut, flips))
    start = time.perf_counter()
    try:
        result = reader(path)
    except InputError as error:
        assert "\n" not in str(error)
    else:
        assert result is not None
    assert time.perf_counter() - start < TIME_BOUND_S


_flips = st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 7)), max_size=8)


@pytest.mark.slow
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.one_of(st.none(), st.integers(0, 420_000)), flips=_flips)
def test_damaged_abf_refused_or_read(tmp_path: Path, cut, flips) -> None:
    original = abf_path("model_vc_step.abf")

    def reader(path: Path) -> dict:
        return analyse_recording(read_recording(path))  # the analysis must hold on odd data too

    _fuzz_case(original, tmp_path, cut, flips, reader)


def test_truncated_abf_refused(tmp_path: Path) -> None:
    original = abf_path("17o05024_vc_steps.abf")
    path = tmp_path / "cut.abf"
    path.write_bytes(original.read_bytes()[:200_000])
    with pytest.raises(InputError, match=r"truncated|not a readable ABF"):
        read_recording(path)


@pytest.mark.slow
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.one_of(st.none(), st.integers(0, 520_000)), flips=_flips)
def test_damaged_fcs_refused_or_read(tmp_path: Path, cut, flips) -> None:
    files = [p for p in fcsparser_files() if p.name.startswith("FCS_3.0_Fortessa")]
    if not files:
        pytest.skip("fcsparser is not installed")
    _fuzz_case(files[0], tmp_path, cut, flips, read_fcs)


def test_truncated_fcs_refused(tmp_path: Path) -> None:
    files = [p for p in fcsparser_files() if p.name == "Sample_Well_A02.fcs"]
    if not files:
        pytest.skip("fcsparser is not installed")
    path = tmp_path / "cut.fcs"
    path.write_bytes(files[0].read_bytes()[:300_000])
    with pytest.raises(InputError):
        read_fcs(path)
