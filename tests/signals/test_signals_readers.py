"""Readers per format behind read_recording: what each file says about its channels comes
back (types, bad channels, line frequency, annotations, intervals); bad files are refused in
one line naming the file; truncated and bit-flipped files never raise anything else."""

from __future__ import annotations

import importlib.util
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbsi.inputs import InputError
from openbsi.signals.readers import RawRecording, read_recording, select_channels


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fixtures = _load("recording_fixtures")
writers = _load("signals_file_writers")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def bids_vhdr(tmp_path_factory) -> Path:
    return fixtures.write_bids(tmp_path_factory.mktemp("bids"), np.random.default_rng(0), 30.0)


def test_bids_channel_types_bads_line_frequency_and_events(bids_vhdr):
    rec = read_recording(f"replay:{bids_vhdr}")
    assert rec.meta.format == "bids"
    names = rec.info.channel_names
    types = dict(zip(names, rec.channel_types, strict=True))
    assert {types[n] for n in fixtures.ECOG} == {"ecog"}
    assert types["LFP_0"] == "dbs" and types[fixtures.FORCE] == "misc"
    assert rec.bad_channels == ("LFP_1",)
    assert rec.line_freq_hz == 60.0
    assert rec.behavioural_channels == (fixtures.FORCE,)
    assert rec.annotations and {a.description for a in rec.annotations} == {"grip"}
    assert rec.info.sfreq_hz == fixtures.SFREQ
    # default channels: the ECoG the file declares, never LFP or the force channel
    assert select_channels(rec, None) == tuple(fixtures.ECOG)
    assert select_channels(rec, "type:dbs") == ("LFP_0",)  # the bad one is left out
    assert select_channels(rec, "ECOG_2,ECOG_0") == ("ECOG_2", "ECOG_0")
    with pytest.raises(InputError, match="--channels"):
        select_channels(rec, "ECOG_0,NOPE")


def test_bids_samples_round_trip_in_microvolts(bids_vhdr):
    data, _ = fixtures.grip_signals(np.random.default_rng(0), 30.0)
    rec = read_recording(bids_vhdr)
    np.testing.assert_allclose(rec.data[:6], data[:6] * 1e6, rtol=1e-4, atol=1e-3)


def _nwb_with_trials(path: Path) -> np.ndarray:
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    data = np.random.default_rng(1).normal(0, 20, (4, 2000))
    nwb = NWBFile("reader test", "reader-test", datetime(2020, 1, 1, tzinfo=UTC))
    device = nwb.create_device(name="implant")
    group = nwb.create_electrode_group("grid", "grid", "cortex", device)
    nwb.add_electrode_column(name="label", description="channel name")
    nwb.add_electrode_column(name="bad", description="bad channel")
    for i in range(4):
        nwb.add_electrode(group=group, location="cortex", label=f"G{i}", bad=i == 3)
    region = nwb.create_electrode_table_region(list(range(4)), "all")
    nwb.add_acquisition(
        ElectricalSeries(
            name="ECoG", data=data.T.copy(), electrodes=region, rate=200.0, conversion=1e-6
        )
    )
    nwb.add_trial_column(name="state", description="what the subject did")
    nwb.add_trial(start_time=1.0, stop_time=2.5, state="grasp")
    nwb.add_trial(start_time=4.0, stop_time=5.0, state="open")
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return data


def test_nwb_electrical_series_bads_and_intervals(tmp_path):
    data = _nwb_with_trials(tmp_path / "r.nwb")
    rec = read_recording(tmp_path / "r.nwb")
    np.testing.assert_allclose(rec.data, data, rtol=1e-12)
    assert rec.info.channel_names == ("G0", "G1", "G2", "G3")
    assert rec.bad_channels == ("G3",)
    trials = rec.meta.intervals["trials"]
    assert [(a.onset_s, a.duration_s, a.description) for a in trials] == [
        (1.0, 1.5, "grasp"),
        (4.0, 1.0, "open"),
    ]


def _edf(path: Path) -> None:
    data = np.round(np.random.default_rng(2).normal(0, 40, (3, 600)), 1)
    writers.write_edf(path, data, 200, ["A", "B", "C"])


def _vhdr(path: Path) -> None:
    data = np.random.default_rng(3).normal(0, 40, (3, 600))
    writers.write_brainvision(path, data, 200.0, ["A", "B", "C"])


def _fif(path: Path) -> None:
    import mne

    info = mne.create_info(["A", "B", "C"], 200.0, "ecog")
    data = np.random.default_rng(4).normal(0, 40e-6, (3, 600))
    mne.io.RawArray(data, info, verbose="error").save(path, verbose="error")


def _xdf(path: Path) -> None:
    data = np.random.default_rng(5).normal(0, 40, (3, 600))
    writers.write_xdf(
        path,
        [
            {
                "name": "ecog",
                "type": "ECoG",
                "sfreq_hz": 200.0,
                "labels": ["A", "B", "C"],
                "data": data,
            }
        ],
    )


def _nwb(path: Path) -> None:
    _nwb_with_trials(path)


MAKERS = {"r.edf": _edf, "r.vhdr": _vhdr, "r_raw.fif": _fif, "r.xdf": _xdf, "r.nwb": _nwb}


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, tuple[Path, bytes]]:
    out = {}
    for name, make in MAKERS.items():
        folder = tmp_path_factory.mktemp(name.replace(".", "_"))
        make(folder / name)
        target = folder / ("r.eeg" if name == "r.vhdr" else name)  # the binary part
        out[name] = (folder / name, target, target.read_bytes())
    return out


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_each_format_reads_back(originals, name):
    path = originals[name][0]
    rec = read_recording(path)
    assert isinstance(rec, RawRecording) and rec.data.shape[0] in (3, 4)
    assert rec.info.sfreq_hz == 200.0


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_missing_and_oversized_files_are_refused_in_one_line(originals, name, tmp_path):
    path = originals[name][0]
    with pytest.raises(InputError, match="file: is too large"):
        read_recording(path, max_bytes=10)
    with pytest.raises(InputError, match="does not exist"):
        read_recording(tmp_path / name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MAKERS))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzz_truncated_or_bit_flipped_files(originals, name, data):
    """A damaged file gives a recording or a clean one-line InputError, within 10 s."""
    path, target, raw = originals[name]
    damaged = bytearray(raw)
    if data.draw(st.booleans(), label="truncate"):
        damaged = damaged[: data.draw(st.integers(0, len(raw) - 1), label="cut")]
    for _ in range(data.draw(st.integers(1, 8), label="flips")):
        if damaged:
            i = data.draw(st.integers(0, len(damaged) - 1), label="at")
            damaged[i] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    target.write_bytes(bytes(damaged))
    started = time.perf_counter()
    try:
        rec = read_recording(path)
        assert rec.data.ndim == 2
    except InputError as error:
        assert "\n" not in str(error) and str(path.name) in str(error)
    finally:
        target.write_bytes(raw)
    assert time.perf_counter() - started < 10.0


def _marker_stream_chunks(sid: int, markers: list[tuple[float, str]]) -> bytes:
    """An XDF string stream (header, samples, footer), written from the XDF 1.0 spec."""
    import struct

    xml = (
        '<?xml version="1.0"?><info><name>cues</name><type>Markers</type>'
        "<channel_count>1</channel_count><nominal_srate>0</nominal_srate>"
        "<channel_format>string</channel_format></info>"
    )
    out = writers._chunk(2, struct.pack("<I", sid) + xml.encode())
    body = struct.pack("<I", sid) + bytes([4]) + struct.pack("<I", len(markers))
    for stamp, text in markers:
        raw = text.encode()
        body += bytes([8]) + struct.pack("<d", stamp) + bytes([1, len(raw)]) + raw
    out += writers._chunk(3, body)
    footer = (
        f'<?xml version="1.0"?><info><first_timestamp>{markers[0][0]}</first_timestamp>'
        f"<last_timestamp>{markers[-1][0]}</last_timestamp>"
        f"<sample_count>{len(markers)}</sample_count></info>"
    )
    return out + writers._chunk(6, struct.pack("<I", sid) + footer.encode())


def test_xdf_marker_stream_becomes_annotations(tmp_path):
    path = tmp_path / "m.xdf"
    data = np.random.default_rng(6).normal(0, 40, (2, 1000))
    writers.write_xdf(
        path,
        [{"name": "ecog", "type": "ECoG", "sfreq_hz": 200.0, "labels": ["A", "B"], "data": data}],
    )
    path.write_bytes(
        path.read_bytes() + _marker_stream_chunks(2, [(101.0, "grasp"), (103.5, "open")])
    )
    rec = read_recording(path)
    assert rec.channel_types == ("ecog", "ecog")
    got = [(round(a.onset_s, 3), a.description) for a in rec.annotations]
    assert got == [(1.0, "grasp"), (3.5, "open")]  # seconds from the ECoG's first sample


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzz_bids_sidecars(bids_vhdr, data):
    """Damaged channels.tsv / ieeg.json: a recording or one clean line, never a traceback."""
    sidecar = data.draw(
        st.sampled_from(
            sorted(
                [*bids_vhdr.parent.glob("*_channels.tsv"), *bids_vhdr.parent.glob("*_ieeg.json")]
            )
        )
    )
    raw = sidecar.read_bytes()
    damaged = bytearray(raw[: data.draw(st.integers(0, len(raw)))])
    for _ in range(data.draw(st.integers(0, 6))):
        if damaged:
            damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(
                st.sampled_from(list(b'\t\n:,{}"0aZ-.'))
            )
    sidecar.write_bytes(bytes(damaged))
    try:
        rec = read_recording(bids_vhdr)
        assert rec.data.shape[1] > 0
    except InputError as error:
        assert "\n" not in str(error) and bids_vhdr.name in str(error)
    finally:
        sidecar.write_bytes(raw)
