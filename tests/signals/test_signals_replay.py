"""Replay of NWB, XDF, EDF, BrainVision and FIF: same samples back, in order, paced or not."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from openbsi.signals.replay import ReplaySource, open_reader, replay_chunks

_spec = importlib.util.spec_from_file_location(
    "signals_file_writers", Path(__file__).with_name("signals_file_writers.py")
)
writers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(writers)

SFREQ = 200
NAMES = ["L00", "L01", "R00"]


@pytest.fixture(scope="module")
def signal_uv() -> np.ndarray:
    rng = np.random.default_rng(11)
    return np.round(rng.normal(0, 50, (3, 3 * SFREQ)), 1)  # 3 s, 0.1 uV steps (EDF precision)


def _nwb(path: Path, data_uv: np.ndarray) -> None:
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    nwb = NWBFile("replay test", "replay-test", datetime(2020, 1, 1, tzinfo=UTC))
    device = nwb.create_device(name="implant")
    group = nwb.create_electrode_group("grid", "grid", "cortex", device)
    nwb.add_electrode_column(name="label", description="channel name")
    for name in NAMES:
        nwb.add_electrode(group=group, location="cortex", label=name)
    region = nwb.create_electrode_table_region(list(range(3)), "all")
    nwb.add_acquisition(
        ElectricalSeries(
            name="ECoG",
            data=np.ascontiguousarray(data_uv.T, dtype="<f4"),
            electrodes=region,
            rate=float(SFREQ),
            conversion=1e-6,
        )
    )
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def _fif(path: Path, data_uv: np.ndarray) -> None:
    import mne

    info = mne.create_info(NAMES, SFREQ, "ecog")
    mne.io.RawArray(data_uv / 1e6, info, verbose="error").save(path, verbose="error")


def _xdf(path: Path, data_uv: np.ndarray) -> None:
    markers = {"name": "Other", "type": "EEG", "sfreq_hz": 10.0, "labels": ["m"]}
    markers["data"] = np.zeros((1, 5))
    ecog = {"name": "ecog", "type": "ECoG", "sfreq_hz": float(SFREQ), "labels": NAMES}
    writers.write_xdf(path, [markers, ecog | {"data": data_uv}])


WRITERS = {
    "rec.nwb": _nwb,
    "rec.xdf": _xdf,
    "rec.edf": lambda p, d: writers.write_edf(p, d, SFREQ, NAMES),
    "rec.vhdr": lambda p, d: writers.write_brainvision(p, d, SFREQ, NAMES),
    "rec_raw.fif": _fif,
}


@pytest.fixture(scope="module", params=sorted(WRITERS))
def recording(request, tmp_path_factory, signal_uv) -> Path:
    path = tmp_path_factory.mktemp("rec") / request.param
    WRITERS[request.param](path, signal_uv)
    return path


def test_reader_gives_back_the_samples_in_microvolts(recording: Path, signal_uv) -> None:
    reader = open_reader(recording)
    try:
        assert reader.info.sfreq_hz == SFREQ and reader.info.channel_names == tuple(NAMES)
        assert reader.info.unit == "uV" and reader.n_samples == signal_uv.shape[1]
        np.testing.assert_allclose(reader.read(0, reader.n_samples), signal_uv, atol=0.06)
    finally:
        reader.close()


def test_fast_replay_chunks_cover_the_file_in_order(recording: Path, signal_uv) -> None:
    chunks = list(replay_chunks(recording, chunk_s=0.07))
    assert [c.first_sample for c in chunks] == list(range(0, signal_uv.shape[1], 14))
    np.testing.assert_allclose(np.concatenate([c.data for c in chunks], 1), signal_uv, atol=0.06)


class FakeClock:
    def __init__(self) -> None:
        self.now_ns = 5_000_000_000
        self.slept_s: list[float] = []

    def __call__(self) -> int:
        return self.now_ns

    def sleep(self, seconds: float) -> None:
        self.slept_s.append(seconds)
        self.now_ns += round(seconds * 1e9)


def test_realtime_pull_hands_out_what_is_due(tmp_path: Path, signal_uv) -> None:
    clock = FakeClock()
    tmp = tmp_path / "rec.vhdr"
    writers.write_brainvision(tmp, signal_uv, SFREQ, NAMES)
    with ReplaySource(tmp, speed=2.0, clock_ns=clock) as source:
        assert source.pull().n_samples == 0  # starts the clock
        clock.now_ns += 250_000_000  # 0.25 s at 2x = 0.5 s of recording
        first = source.pull()
        assert (first.first_sample, first.n_samples) == (0, 100)
        assert first.t_ns == clock.now_ns
        clock.now_ns += 10_000_000_000  # far past the end: only what is left, then nothing
        rest = source.pull()
        assert (rest.first_sample, rest.n_samples) == (100, signal_uv.shape[1] - 100)
        assert source.exhausted and source.pull().n_samples == 0


def test_realtime_chunks_sleep_until_each_chunk_is_due(tmp_path: Path, signal_uv) -> None:
    path = tmp_path / "rec.edf"
    writers.write_edf(path, signal_uv, SFREQ, NAMES)
    clock = FakeClock()
    start = clock.now_ns
    with ReplaySource(path, start_s=1.0, stop_s=2.0, clock_ns=clock) as source:
        chunks = list(source.chunks(20, realtime=True, sleep_s=clock.sleep))
    assert len(chunks) == 10 and chunks[-1].first_sample == 180
    assert [c.t_ns - start for c in chunks] == [100_000_000 * (k + 1) for k in range(10)]
    np.testing.assert_allclose(chunks[0].data, signal_uv[:, 200:220], atol=0.06)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"speed": 0.0}, r"speed must be in \[0.01, 1000\]"),
        ({"start_s": 5.0}, "start_s/stop_s must select"),
        ({"start_s": 1.0, "stop_s": 0.5}, "start_s/stop_s must select"),
        ({"stream": "nope"}, "stream: unknown name"),
    ],
)
def test_bad_replay_settings(tmp_path: Path, signal_uv, kwargs: dict, match: str) -> None:
    path = tmp_path / "rec.xdf"
    _xdf(path, signal_uv)
    with pytest.raises(ValueError, match=match):
        ReplaySource(path, **kwargs)


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(ValueError, match="suffix: unknown format"):
        open_reader(tmp_path / "x.csv")
    with pytest.raises(ValueError, match="file: does not exist"):
        open_reader(tmp_path / "missing.nwb")


def test_nwb_channel_conversion_and_offset_are_applied(tmp_path: Path, signal_uv) -> None:
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    nwb = NWBFile("gains", "gains", datetime(2020, 1, 1, tzinfo=UTC))
    group = nwb.create_electrode_group("g", "g", "cortex", nwb.create_device(name="d"))
    for _ in NAMES:
        nwb.add_electrode(group=group, location="cortex")
    gains = np.array([1.0, 2.0, 0.5])
    raw = np.round(signal_uv / gains[:, None] * 10).astype("<i2")  # int16 counts of 0.1 uV
    nwb.add_acquisition(
        ElectricalSeries(
            name="raw",
            data=raw.T,
            electrodes=nwb.create_electrode_table_region([0, 1, 2], "all"),
            rate=float(SFREQ),
            conversion=1e-7,
            channel_conversion=gains,
            offset=1e-6,
        )
    )
    path = tmp_path / "gains.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with ReplaySource(path) as source:
        assert source.info.channel_names == ("e000", "e001", "e002")  # no labels: row ids
        data = source.read(source.n_samples).data
    np.testing.assert_allclose(data, signal_uv + 1.0, atol=0.11)
