"""NWB: an ElectricalSeries in acquisition (read lazily) and the file's intervals tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openbsi.inputs import InputError
from openbsi.signals.readers._common import (
    MAX_ANNOTATIONS,
    UV_PER_V,
    Annotation,
    RecordingMeta,
    check_shape,
    guarded,
)
from openbsi.signals.types import StreamInfo

# String columns of an intervals table that name what happened (first found is the label).
_LABEL_COLUMNS = ("state", "label", "condition", "description", "trial_type", "tags")


class NwbReader:
    """samples x channels on disk; data * conversion * channel_conversion + offset is volts."""

    def __init__(self, path: Path, series: str | None = None) -> None:
        from pynwb import NWBHDF5IO

        self.path = path
        self._io = guarded(path, "NWB", lambda: NWBHDF5IO(str(path), "r"))
        try:
            guarded(path, "NWB", lambda: self._open(self._io.read(), series))
        except BaseException:
            self._io.close()
            raise

    def _open(self, nwb, series: str | None) -> None:
        from pynwb.ecephys import ElectricalSeries

        path = self.path
        found = {n: o for n, o in nwb.acquisition.items() if isinstance(o, ElectricalSeries)}
        if not found:
            raise InputError(str(path), "acquisition", "must hold an ElectricalSeries, got none")
        if series is None:
            series = "ECoG" if "ECoG" in found else sorted(found)[0]
        if series not in found:
            raise InputError(
                str(path), "series", "unknown name", limit=f"one of {sorted(found)}", value=series
            )
        es = found[series]
        self._data = es.data
        self._scale = float(es.conversion) * UV_PER_V
        per_channel = getattr(es, "channel_conversion", None)
        self._channel_scale = (
            None if per_channel is None else np.asarray(per_channel[:], dtype=np.float64)[:, None]
        )
        self._offset_uv = float(getattr(es, "offset", 0.0) or 0.0) * UV_PER_V
        if es.rate is not None:
            sfreq = float(es.rate)
        else:
            stamps = np.asarray(es.timestamps[: min(len(es.timestamps), 10_000)])
            if stamps.size < 2:
                raise InputError(str(path), series, "must have a rate or >= 2 timestamps")
            sfreq = 1.0 / float(np.median(np.diff(stamps)))
        shape = self._data.shape
        n_channels = int(shape[1]) if len(shape) > 1 else 1
        self.n_samples = int(shape[0])
        check_shape(path, n_channels, self.n_samples, sfreq)
        if self._channel_scale is not None and self._channel_scale.shape[0] != n_channels:
            raise InputError(
                str(path),
                "channel_conversion",
                "needs one gain per channel",
                limit=n_channels,
                value=self._channel_scale.shape[0],
            )
        names = _channel_names(es, n_channels)
        self.info = StreamInfo(name=f"{path.stem}/{series}", sfreq_hz=sfreq, channel_names=names)
        start_s = float(getattr(es, "starting_time", 0.0) or 0.0)
        self.meta = RecordingMeta(
            channel_types=_channel_types(es, n_channels),
            bad_channels=_bad_channels(es, names),
            intervals=_intervals(nwb, start_s),
            format="nwb",
        )

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


def _rows(series) -> tuple[object, list[int]] | None:
    region = getattr(series, "electrodes", None)
    if region is None:
        return None
    return region.table, [int(r) for r in region.data[:]]


def _channel_names(series, n_channels: int) -> tuple[str, ...]:
    found = _rows(series)
    if found is not None:
        table, rows = found
        for column in ("label", "channel_name", "name"):
            if column in table.colnames:
                values = table[column].data[:]
                names = tuple(str(values[r]) for r in rows)
                if len(set(names)) == n_channels:
                    return names
        if len(rows) == n_channels:
            return tuple(f"e{r:03d}" for r in rows)
    return tuple(f"ch{i:03d}" for i in range(n_channels))


def _channel_types(series, n_channels: int) -> tuple[str, ...]:
    """An optional 'type' column of the electrode table; otherwise ECoG (an ElectricalSeries
    of this platform's recordings is the cortical grid)."""
    found = _rows(series)
    if found is not None:
        table, rows = found
        for column in ("type", "channel_type"):
            if column in table.colnames:
                values = table[column].data[:]
                return tuple(str(values[r]).lower() for r in rows)
    return ("ecog",) * n_channels


def _bad_channels(series, names: tuple[str, ...]) -> tuple[str, ...]:
    found = _rows(series)
    if found is None:
        return ()
    table, rows = found
    for column in ("bad", "is_bad"):
        if column in table.colnames:
            values = table[column].data[:]
            return tuple(n for n, r in zip(names, rows, strict=False) if bool(values[r]))
    return ()


def _intervals(nwb, start_s: float) -> dict[str, tuple[Annotation, ...]]:
    """Every TimeIntervals table (trials, epochs, intervals/*), on the series' time axis."""
    tables = dict(getattr(nwb, "intervals", None) or {})
    out: dict[str, tuple[Annotation, ...]] = {}
    for name, table in tables.items():
        n = len(table)
        if n > MAX_ANNOTATIONS:
            raise InputError(
                "NWB", f"intervals/{name}", "too many rows", limit=MAX_ANNOTATIONS, value=n
            )
        starts = np.asarray(table["start_time"].data[:], dtype=float)
        stops = np.asarray(table["stop_time"].data[:], dtype=float)
        column = next((c for c in _LABEL_COLUMNS if c in table.colnames), None)
        labels = [str(v) for v in table[column][:]] if column else [name] * n
        out[name] = tuple(
            Annotation(float(a - start_s), float(b - a), lab)
            for a, b, lab in zip(starts, stops, labels, strict=True)
        )
    return out
