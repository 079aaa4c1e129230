"""EDF/BDF, BrainVision (.vhdr), FIF, GDF and EEGLAB through mne.io.read_raw (lazy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openbsi.signals.readers._common import (
    MAX_ANNOTATIONS,
    NON_DATA_TYPES,
    UV_PER_V,
    Annotation,
    RecordingMeta,
    check_shape,
    guarded,
    unique_names,
)
from openbsi.signals.types import StreamInfo

SUFFIXES = (".edf", ".bdf", ".vhdr", ".fif", ".fif.gz", ".gdf", ".set")
_FIFF_UNIT_V = 107  # mne.io.constants.FIFF.FIFF_UNIT_V: channels MNE holds in volts


class MneReader:
    """Any mne.io.Raw; channels in volts are handed out in microvolts, others as stored."""

    def __init__(self, path: Path, stream: str | None = None, raw=None, fmt: str = "") -> None:
        import mne

        self.path = path
        if raw is None:
            raw = guarded(
                path,
                "EDF/BrainVision/FIF",
                lambda: mne.io.read_raw(str(path), preload=False, verbose="error"),
            )
        self._raw = raw
        try:
            guarded(path, fmt or "EDF/BrainVision/FIF", lambda: self._open(stream, fmt))
        except BaseException:
            raw.close()
            raise

    def _open(self, stream: str | None, fmt: str) -> None:
        raw, path = self._raw, self.path
        types = raw.get_channel_types()
        self._picks = [i for i, t in enumerate(types) if t not in NON_DATA_TYPES]
        if not self._picks:
            self._picks = list(range(len(types)))
        sfreq = float(raw.info["sfreq"])
        check_shape(path, len(self._picks), int(raw.n_times), sfreq)
        units = [raw.info["chs"][i]["unit"] for i in self._picks]
        self._scale = np.asarray([UV_PER_V if u == _FIFF_UNIT_V else 1.0 for u in units])[:, None]
        names = unique_names([raw.ch_names[i] for i in self._picks], path)
        self.info = StreamInfo(
            name=stream or path.name.split(".")[0], sfreq_hz=sfreq, channel_names=names
        )
        self.n_samples = int(raw.n_times)
        line = raw.info.get("line_freq")
        self.meta = RecordingMeta(
            channel_types=tuple(types[i] for i in self._picks),
            bad_channels=tuple(b for b in raw.info["bads"] if b in names),
            line_freq_hz=float(line) if line else None,
            annotations=_annotations(raw),
            format=fmt or path.suffix.lstrip(".").lower(),
        )

    def read(self, start: int, stop: int) -> np.ndarray:
        data = self._raw.get_data(picks=self._picks, start=start, stop=stop, verbose="error")
        return data * self._scale

    def close(self) -> None:
        self._raw.close()


def _annotations(raw) -> tuple[Annotation, ...]:
    """MNE annotations relative to the first sample (BIDS events.tsv arrive as these)."""
    ann = raw.annotations
    if len(ann) > MAX_ANNOTATIONS:
        raise ValueError(f"too many annotations (limit {MAX_ANNOTATIONS}, got {len(ann)})")
    first_s = raw.first_samp / raw.info["sfreq"]
    origin = ann.orig_time is not None and raw.info["meas_date"] is not None
    offset_s = first_s if origin else 0.0
    return tuple(
        Annotation(float(o) - offset_s, float(d), str(desc)[:256])
        for o, d, desc in zip(ann.onset, ann.duration, ann.description, strict=True)
    )
