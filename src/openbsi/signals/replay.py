"""Replay recorded ECoG (NWB, XDF, EDF/BDF, BrainVision, FIF) as a stream of Chunks.

One reader per file format, each with the same small surface: `info`, `n_samples`,
`read(start, stop) -> channels x samples in the stream's unit (uV for voltages)`. On top,
`ReplaySource` hands out chunks either as fast as possible (`read`, `chunks()`), or in real
time (`pull()` returns what is due by the wall clock, like an LSL inlet that is drained;
`chunks(realtime=True)` sleeps between chunks). Clock and sleep are injectable for tests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from openbsi.signals.types import Chunk, StreamInfo

UV_PER_V = 1e6
# MNE channel types whose data MNE holds in volts (converted to microvolts here).
_VOLTAGE_TYPES = frozenset({"eeg", "ecog", "seeg", "dbs", "eog", "emg", "ecg", "bio"})
MNE_SUFFIXES = (".edf", ".bdf", ".vhdr", ".fif", ".fif.gz", ".gdf", ".set")
SUFFIXES = (".nwb", ".xdf", ".xdfz", *MNE_SUFFIXES)


class Reader(Protocol):
    info: StreamInfo
    n_samples: int

    def read(self, start: int, stop: int) -> np.ndarray: ...

    def close(self) -> None: ...


class NwbReader:
    """An ElectricalSeries of an NWB file, read lazily block by block (samples x channels on
    disk; data * conversion * channel_conversion + offset is volts, as the NWB schema says)."""

    def __init__(self, path: Path, series: str | None = None) -> None:
        from pynwb import NWBHDF5IO
        from pynwb.ecephys import ElectricalSeries

        self._io = NWBHDF5IO(str(path), "r")
        nwb = self._io.read()
        found = {
            name: obj for name, obj in nwb.acquisition.items() if isinstance(obj, ElectricalSeries)
        }
        if not found:
            self._io.close()
            raise ValueError(f"file {path} must hold an ElectricalSeries in acquisition, got none")
        if series is None:
            series = "ECoG" if "ECoG" in found else sorted(found)[0]
        if series not in found:
            self._io.close()
            raise ValueError(f"series must be one of {sorted(found)}, got {series!r}")
        es = found[series]
        self._data = es.data
        self._scale = float(es.conversion) * UV_PER_V
        per_channel = getattr(es, "channel_conversion", None)  # optional per-channel gain
        self._channel_scale = (
            None if per_channel is None else np.asarray(per_channel[:], dtype=np.float64)[:, None]
        )
        self._offset_uv = float(getattr(es, "offset", 0.0) or 0.0) * UV_PER_V
        if es.rate is not None:
            sfreq = float(es.rate)
        else:
            stamps = np.asarray(es.timestamps[: min(len(es.timestamps), 10_000)])
            if stamps.size < 2:
                raise ValueError(f"series {series!r} must have a rate or >= 2 timestamps")
            sfreq = 1.0 / float(np.median(np.diff(stamps)))
        n_channels = int(self._data.shape[1]) if len(self._data.shape) > 1 else 1
        self.info = StreamInfo(
            name=f"{path.stem}/{series}",
            sfreq_hz=sfreq,
            channel_names=_nwb_channel_names(es, n_channels),
        )
        self.n_samples = int(self._data.shape[0])

    def read(self, start: int, stop: int) -> np.ndarray:
        block = np.asarray(self._data[start:stop], dtype=np.float64)
        if block.ndim == 1:
            block = block[:, None]
        scaled = block.T * self._scale
        if self._channel_scale is not None:
            scaled *= self._channel_scale
        return scaled + self._offset_uv

    def close(self) -> None:
        self._io.close()


def _nwb_channel_names(series: object, n_channels: int) -> tuple[str, ...]:
    region = getattr(series, "electrodes", None)
    if region is not None:
        table = region.table
        rows = [int(r) for r in region.data[:]]
        for column in ("label", "channel_name", "name"):
            if column in table.colnames:
                values = table[column].data[:]
                names = tuple(str(values[r]) for r in rows)
                if len(set(names)) == n_channels:
                    return names
        if len(rows) == n_channels:
            return tuple(f"e{r:03d}" for r in rows)
    return tuple(f"ch{i:03d}" for i in range(n_channels))


class XdfReader:
    """One numeric stream of an XDF file (pyxdf loads the whole file into memory)."""

    def __init__(self, path: Path, stream: str | None = None) -> None:
        import pyxdf

        streams, _ = pyxdf.load_xdf(str(path), dejitter_timestamps=True)
        numeric = [
            s
            for s in streams
            if float(s["info"]["nominal_srate"][0]) > 0
            and isinstance(s["time_series"], np.ndarray)
            and s["time_series"].ndim == 2
        ]
        names = [s["info"]["name"][0] for s in numeric]
        if not numeric:
            raise ValueError(f"file {path} must hold a regularly sampled numeric stream, got none")
        if stream is None:
            types = [s["info"]["type"][0].lower() for s in numeric]
            pick = types.index("ecog") if "ecog" in types else 0
        elif stream in names:
            pick = names.index(stream)
        else:
            raise ValueError(f"stream must be one of {names}, got {stream!r}")
        chosen = numeric[pick]
        self._data = np.asarray(chosen["time_series"], dtype=np.float64).T  # channels x samples
        labels, unit = _xdf_channels(chosen["info"], self._data.shape[0])
        self.info = StreamInfo(
            name=names[pick],
            sfreq_hz=float(chosen["info"]["nominal_srate"][0]),
            channel_names=labels,
            unit=unit,
        )
        self.n_samples = int(self._data.shape[1])
        self.time_stamps_s = np.asarray(chosen["time_stamps"], dtype=np.float64)

    def read(self, start: int, stop: int) -> np.ndarray:
        return self._data[:, start:stop].copy()

    def close(self) -> None:
        self._data = np.zeros((self._data.shape[0], 0))


def _xdf_channels(info: dict, n_channels: int) -> tuple[tuple[str, ...], str]:
    default = tuple(f"ch{i:03d}" for i in range(n_channels))
    try:
        channels = info["desc"][0]["channels"][0]["channel"]
    except (KeyError, IndexError, TypeError):
        return default, "uV"
    labels = tuple(str((c.get("label") or [""])[0]) for c in channels)
    units = {str((c.get("unit") or [""])[0]).lower() for c in channels}
    unit = "uV" if units <= {"microvolts", "uv", "µv", ""} else sorted(units)[0]
    if len(labels) != n_channels or len(set(labels)) != n_channels or "" in labels:
        labels = default
    return labels, unit


class MneReader:
    """EDF/BDF, BrainVision (.vhdr), FIF, GDF, EEGLAB through mne.io.read_raw (lazy)."""

    def __init__(self, path: Path, stream: str | None = None) -> None:
        import mne

        self._raw = mne.io.read_raw(str(path), preload=False, verbose="error")
        types = self._raw.get_channel_types()
        self._picks = [i for i, t in enumerate(types) if t not in ("stim", "syst", "misc")]
        if not self._picks:
            self._picks = list(range(len(types)))
        scale = [UV_PER_V if types[i] in _VOLTAGE_TYPES else 1.0 for i in self._picks]
        self._scale = np.asarray(scale)[:, None]
        names = tuple(self._raw.ch_names[i] for i in self._picks)
        self.info = StreamInfo(
            name=stream or path.name.split(".")[0],
            sfreq_hz=float(self._raw.info["sfreq"]),
            channel_names=names,
        )
        self.n_samples = int(self._raw.n_times)

    def read(self, start: int, stop: int) -> np.ndarray:
        data = self._raw.get_data(picks=self._picks, start=start, stop=stop, verbose="error")
        return data * self._scale

    def close(self) -> None:
        self._raw.close()


def open_reader(path: str | Path, stream: str | None = None) -> Reader:
    """The reader for this file's format (by suffix); `stream` picks a series/stream by name."""
    path = Path(path)
    name = path.name.lower()
    if not path.is_file():
        raise ValueError(f"replay file must be an existing file, got {str(path)!r}")
    if name.endswith(".nwb"):
        return NwbReader(path, stream)
    if name.endswith((".xdf", ".xdfz")):
        return XdfReader(path, stream)
    if name.endswith(MNE_SUFFIXES):
        return MneReader(path, stream)
    raise ValueError(f"replay file suffix must be one of {SUFFIXES}, got {path.suffix!r}")


class ReplaySource:
    """Chunks of a recording, as fast as possible or paced by the (injectable) clock.

    speed: real-time factor for paced replay (2.0 = twice as fast as recorded).
    start_s / stop_s: the part of the recording to replay.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        stream: str | None = None,
        speed: float = 1.0,
        start_s: float = 0.0,
        stop_s: float | None = None,
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if not (math.isfinite(speed) and 0.01 <= speed <= 1000):
            raise ValueError(f"speed must be in [0.01, 1000] x real time, got {speed}")
        self._reader = open_reader(path, stream)
        self.info = self._reader.info
        sfreq = self.info.sfreq_hz
        total = self._reader.n_samples
        first = round(start_s * sfreq)
        last = total if stop_s is None else min(total, round(stop_s * sfreq))
        if not 0 <= first < max(last, 1) or (stop_s is not None and stop_s <= start_s):
            self._reader.close()
            raise ValueError(
                f"start_s/stop_s must select a part of [0, {total / sfreq:g}] s, "
                f"got start_s={start_s}, stop_s={stop_s}"
            )
        self.speed = speed
        self.clock_ns = clock_ns
        self._first = first
        self._stop = last
        self._position = first
        self._started_ns: int | None = None

    @property
    def n_samples(self) -> int:
        """Samples this replay will hand out in total."""
        return self._stop - self._first

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.info.sfreq_hz

    @property
    def samples_read(self) -> int:
        return self._position - self._first

    @property
    def exhausted(self) -> bool:
        return self._position >= self._stop

    def _chunk(self, n: int, t_ns: int) -> Chunk:
        stop = min(self._stop, self._position + max(0, n))
        if stop <= self._position:
            data = np.zeros((self.info.n_channels, 0))
        else:
            data = self._reader.read(self._position, stop)
        chunk = Chunk(data=data, first_sample=self._position - self._first, t_ns=t_ns)
        self._position = stop
        return chunk

    def read(self, n_samples: int) -> Chunk:
        """The next n_samples (fewer at the end), as fast as possible."""
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}")
        return self._chunk(n_samples, self.clock_ns())

    def start(self) -> None:
        """Start the replay clock (done by the first pull() if not called)."""
        self._started_ns = self.clock_ns()

    def due_samples(self, now_ns: int) -> int:
        """Samples due (from the start of the replay) at `now_ns` on the replay clock."""
        if self._started_ns is None:
            return 0
        elapsed_s = (now_ns - self._started_ns) / 1e9 * self.speed
        return min(self.n_samples, math.floor(elapsed_s * self.info.sfreq_hz + 1e-9))

    def pull(self) -> Chunk:
        """Real time: every sample due since the last pull (as a drained LSL inlet would)."""
        if self._started_ns is None:
            self.start()
        now_ns = self.clock_ns()
        return self._chunk(self.due_samples(now_ns) - self.samples_read, now_ns)

    def chunks(
        self,
        chunk_samples: int,
        *,
        realtime: bool = False,
        sleep_s: Callable[[float], None] = time.sleep,
    ) -> Iterator[Chunk]:
        """Chunks of `chunk_samples` until the end; paced by the clock if `realtime`."""
        if chunk_samples < 1:
            raise ValueError(f"chunk_samples must be >= 1, got {chunk_samples}")
        if realtime and self._started_ns is None:
            self.start()
        while not self.exhausted:
            if realtime:
                target = min(self.n_samples, self.samples_read + chunk_samples)
                assert self._started_ns is not None
                due_ns = self._started_ns + math.ceil(
                    target / self.info.sfreq_hz / self.speed * 1e9
                )
                wait_ns = due_ns - self.clock_ns()
                if wait_ns > 0:
                    sleep_s(wait_ns / 1e9)
            yield self.read(chunk_samples)

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> ReplaySource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def replay_chunks(
    path: str | Path,
    chunk_s: float = 0.1,
    *,
    realtime: bool = False,
    speed: float = 1.0,
    stream: str | None = None,
) -> Iterator[Chunk]:
    """Iterate a recording in chunks of `chunk_s` seconds (real time or as fast as possible)."""
    with ReplaySource(path, stream=stream, speed=speed) as source:
        n = max(1, round(chunk_s * source.info.sfreq_hz))
        yield from source.chunks(n, realtime=realtime)
