"""BIDS-iEEG/EEG through mne-bids: channel types and bad channels from channels.tsv, line
frequency from the sidecar's PowerLineFrequency, events.tsv as annotations."""

from __future__ import annotations

import re
from pathlib import Path

from openbsi.signals.readers._common import check_file, guarded
from openbsi.signals.readers.mne_raw import MneReader

_BIDS_NAME = re.compile(r"^sub-[A-Za-z0-9]+_.*_(ieeg|eeg)\.(vhdr|edf|bdf|fif|set|nwb)$")


def channels_tsv(path: Path) -> Path | None:
    """The channels.tsv beside a BIDS data file, if there is one."""
    stem = path.name.rsplit("_", 1)[0]
    candidate = path.with_name(f"{stem}_channels.tsv")
    return candidate if candidate.is_file() else None


def is_bids(path: Path) -> bool:
    """A BIDS-named iEEG/EEG file with its channels.tsv beside it."""
    return bool(_BIDS_NAME.match(path.name)) and channels_tsv(path) is not None


def open_bids(path: Path, stream: str | None = None) -> MneReader:
    from mne_bids import get_bids_path_from_fname, read_raw_bids

    # Sidecars beside the data file (channels, events, electrodes, json): bounded before
    # mne-bids reads them (assumption: 50 MB, ~1 M rows of events).
    for sidecar in path.parent.glob("*"):
        if sidecar.suffix in (".tsv", ".json") and sidecar.is_file():
            check_file(sidecar, 50_000_000)

    def build():
        bids_path = get_bids_path_from_fname(path)
        return read_raw_bids(bids_path, verbose="error")

    raw = guarded(path, "BIDS", build)
    return MneReader(path, stream, raw=raw, fmt="bids")
