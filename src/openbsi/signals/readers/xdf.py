"""XDF: one numeric stream (the ECoG one by default) and any marker stream as annotations."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openbsi.inputs import InputError
from openbsi.signals.readers._common import (
    MAX_ANNOTATIONS,
    Annotation,
    RecordingMeta,
    check_shape,
    guarded,
)
from openbsi.signals.types import StreamInfo


def _first(info: dict, key: str, default: str = "") -> str:
    try:
        return str(info[key][0])
    except (KeyError, IndexError, TypeError):
        return default


class XdfReader:
    """pyxdf loads the whole file into memory (the file's size is bounded before)."""

    def __init__(self, path: Path, stream: str | None = None) -> None:
        import pyxdf

        self.path = path
        streams, _ = guarded(
            path, "XDF", lambda: pyxdf.load_xdf(str(path), dejitter_timestamps=True)
        )
        guarded(path, "XDF", lambda: self._open(streams, stream))

    def _open(self, streams: list[dict], stream: str | None) -> None:
        path = self.path
        numeric = [
            s
            for s in streams
            if float(_first(s["info"], "nominal_srate", "0")) > 0
            and isinstance(s["time_series"], np.ndarray)
            and s["time_series"].ndim == 2
            and s["time_series"].shape[0] > 0
        ]
        names = [_first(s["info"], "name") for s in numeric]
        if not numeric:
            raise InputError(str(path), "streams", "must hold a regularly sampled numeric stream")
        if stream is None:
            types = [_first(s["info"], "type").lower() for s in numeric]
            pick = types.index("ecog") if "ecog" in types else 0
        elif stream in names:
            pick = names.index(stream)
        else:
            raise InputError(
                str(path), "stream", "unknown name", limit=f"one of {names}", value=stream
            )
        chosen = numeric[pick]
        data = np.asarray(chosen["time_series"], dtype=np.float64).T  # channels x samples
        sfreq = float(_first(chosen["info"], "nominal_srate"))
        check_shape(path, data.shape[0], data.shape[1], sfreq)
        self._data = data
        labels, unit, types = _channels(chosen["info"], data.shape[0])
        self.info = StreamInfo(name=names[pick], sfreq_hz=sfreq, channel_names=labels, unit=unit)
        self.n_samples = int(data.shape[1])
        self.time_stamps_s = np.asarray(chosen["time_stamps"], dtype=np.float64)
        t0 = float(self.time_stamps_s[0]) if self.time_stamps_s.size else 0.0
        self.meta = RecordingMeta(
            channel_types=types, annotations=_markers(streams, t0), format="xdf"
        )

    def read(self, start: int, stop: int) -> np.ndarray:
        return self._data[:, start:stop].copy()

    def close(self) -> None:
        self._data = np.zeros((self._data.shape[0], 0))


def _channels(info: dict, n: int) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    default = tuple(f"ch{i:03d}" for i in range(n))
    stream_type = _first(info, "type").lower() or "misc"
    try:
        channels = info["desc"][0]["channels"][0]["channel"]
    except (KeyError, IndexError, TypeError):
        return default, "uV", (stream_type,) * n
    labels = tuple(_first(c, "label") for c in channels)
    units = {_first(c, "unit").lower() for c in channels}
    unit = "uV" if units <= {"microvolts", "uv", "µv", ""} else sorted(units)[0]
    types = tuple((_first(c, "type") or stream_type).lower() for c in channels)
    if len(labels) != n or len(set(labels)) != n or "" in labels:
        labels = default
    if len(types) != n:
        types = (stream_type,) * n
    return labels, unit, types


def _markers(streams: list[dict], t0_s: float) -> tuple[Annotation, ...]:
    """String (marker) streams as zero-length annotations, in seconds from the data's start."""
    out: list[Annotation] = []
    for s in streams:
        series = s["time_series"]
        if isinstance(series, np.ndarray) and series.dtype.kind not in "OUS":
            continue
        for value, stamp in zip(series, s["time_stamps"], strict=False):
            text = str(value[0] if isinstance(value, list | tuple | np.ndarray) else value)
            out.append(Annotation(float(stamp) - t0_s, 0.0, text[:256]))
            if len(out) > MAX_ANNOTATIONS:
                raise InputError("XDF", "markers", "too many", limit=MAX_ANNOTATIONS)
    return tuple(sorted(out, key=lambda a: a.onset_s))
