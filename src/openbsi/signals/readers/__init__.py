"""One reader per file format behind `open_reader` (lazy, for replay) and `read_recording`
(everything in memory, for calibration and evaluation).

Formats: BIDS-iEEG (mne-bids), NWB, BrainVision, EDF/BDF, FIF, GDF, EEGLAB (mne.io), XDF.
Every failure is an `openbsi.inputs.InputError` naming the file: one line, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openbsi.inputs import InputError
from openbsi.signals.readers._common import (
    MAX_FILE_BYTES,
    NEURAL_TYPES,
    Annotation,
    Reader,
    RecordingMeta,
    check_file,
)
from openbsi.signals.readers.mne_raw import SUFFIXES as MNE_SUFFIXES
from openbsi.signals.types import StreamInfo

SUFFIXES = (".nwb", ".xdf", ".xdfz", *MNE_SUFFIXES)
BEHAVIOURAL_TYPES = frozenset({"misc", "bio", "emg", "resp", "gsr", "temperature"})


def open_reader(
    path: str | Path, stream: str | None = None, *, max_bytes: int = MAX_FILE_BYTES
) -> Reader:
    """The reader for this file's format (by suffix; BIDS when a channels.tsv is beside it)."""
    from openbsi.signals.readers.bids import is_bids, open_bids

    path = Path(path)
    check_file(path, max_bytes)
    name = path.name.lower()
    if is_bids(path) and not name.endswith(".nwb"):
        return open_bids(path, stream)
    if name.endswith(".nwb"):
        from openbsi.signals.readers.nwb import NwbReader

        return NwbReader(path, stream)
    if name.endswith((".xdf", ".xdfz")):
        from openbsi.signals.readers.xdf import XdfReader

        return XdfReader(path, stream)
    if name.endswith(MNE_SUFFIXES):
        from openbsi.signals.readers.mne_raw import MneReader

        return MneReader(path, stream)
    raise InputError(
        str(path), "suffix", "unknown format", limit=f"one of {SUFFIXES}", value=path.suffix
    )


@dataclass
class RawRecording:
    """A whole recording: samples (channels x samples; voltages in uV) and what the file says
    about them. One time axis: sample i is at i / info.sfreq_hz seconds."""

    data: np.ndarray
    info: StreamInfo
    meta: RecordingMeta
    path: Path

    @property
    def channel_types(self) -> tuple[str, ...]:
        return self.meta.channel_types

    @property
    def bad_channels(self) -> tuple[str, ...]:
        return self.meta.bad_channels

    @property
    def line_freq_hz(self) -> float | None:
        return self.meta.line_freq_hz

    @property
    def annotations(self) -> tuple[Annotation, ...]:
        return self.meta.annotations

    @property
    def behavioural_channels(self) -> tuple[str, ...]:
        """Channels that are not brain signals (force, movement, EMG, ...)."""
        return tuple(
            n
            for n, t in zip(self.info.channel_names, self.channel_types, strict=True)
            if t in BEHAVIOURAL_TYPES
        )

    def channel(self, name: str) -> np.ndarray:
        """One channel's samples, or an InputError listing the names."""
        names = self.info.channel_names
        if name not in names:
            raise InputError(
                str(self.path),
                "channel",
                "unknown name",
                limit=f"one of {list(names)[:20]}",
                value=name,
            )
        return self.data[names.index(name)]

    def pick(self, names: tuple[str, ...]) -> RawRecording:
        index = [self.info.channel_names.index(n) for n in names]
        types = tuple(self.channel_types[i] for i in index)
        info = StreamInfo(self.info.name, self.info.sfreq_hz, tuple(names), self.info.unit)
        meta = RecordingMeta(
            types,
            tuple(b for b in self.bad_channels if b in names),
            self.line_freq_hz,
            self.annotations,
            self.meta.intervals,
            self.meta.format,
        )
        return RawRecording(self.data[index], info, meta, self.path)


def parse_source(spec: str) -> Path:
    """`replay:FILE` (or a bare path) -> the file."""
    text = spec[len("replay:") :] if spec.startswith("replay:") else spec
    if not text:
        raise InputError("--source", "replay", "needs a file, as replay:FILE", value=spec)
    return Path(text)


def read_recording(
    spec: str | Path, stream: str | None = None, *, max_bytes: int = MAX_FILE_BYTES
) -> RawRecording:
    """Read a whole recording (`replay:FILE` or a path) with its channel types, bad channels,
    line frequency, annotations and intervals."""
    path = parse_source(str(spec)) if isinstance(spec, str) else Path(spec)
    reader = open_reader(path, stream, max_bytes=max_bytes)
    try:
        from openbsi.signals.readers._common import guarded

        data = guarded(
            path, reader.meta.format or "recording", lambda: reader.read(0, reader.n_samples)
        )
    finally:
        reader.close()
    return RawRecording(np.ascontiguousarray(data), reader.info, reader.meta, path)


def select_channels(recording: RawRecording, spec: str | None) -> tuple[str, ...]:
    """`type:ecog`, `NAME,NAME,...`, or None (the ECoG channels the file declares; failing
    that, every neural channel). Bad channels the file declares are left out of type picks."""
    names, types = recording.info.channel_names, recording.channel_types
    source = str(recording.path)
    if spec is None or spec.startswith("type:"):
        wanted = {"ecog"} if spec is None else {t.strip().lower() for t in spec[5:].split(",")}
        picked = tuple(
            n
            for n, t in zip(names, types, strict=True)
            if t in wanted and n not in recording.bad_channels
        )
        if not picked and spec is None:
            picked = tuple(
                n
                for n, t in zip(names, types, strict=True)
                if t in NEURAL_TYPES and n not in recording.bad_channels
            )
        if not picked:
            raise InputError(
                source,
                "--channels",
                "no channel of that type",
                limit=f"types in file: {sorted(set(types))}",
                value=spec or "ecog",
            )
        return picked
    picked = tuple(p.strip() for p in spec.split(",") if p.strip())
    unknown = [p for p in picked if p not in names]
    if unknown or not picked or len(set(picked)) != len(picked):
        raise InputError(
            source,
            "--channels",
            "must name distinct channels of the file",
            limit=f"one of {list(names)[:20]}",
            value=unknown or spec,
        )
    return picked


__all__ = [
    "SUFFIXES",
    "Annotation",
    "RawRecording",
    "Reader",
    "RecordingMeta",
    "open_reader",
    "parse_source",
    "read_recording",
    "select_channels",
]
