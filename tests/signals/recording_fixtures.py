"""Recordings made here for the reader, label and CLI tests: a BIDS-iEEG dataset (mne-bids)
with ECoG, LFP and a grip-force channel whose movement raises the ECoG's high gamma."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SFREQ = 500.0
ECOG = [f"ECOG_{i}" for i in range(6)]
LFP = ["LFP_0", "LFP_1"]
FORCE = "FORCE"


def grip_signals(rng: np.random.Generator, seconds: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    """(channels x samples in volts, movement mask): 2-4 s grips every ~6 s; during a grip,
    80-140 Hz power rises on the ECoG channels (the high-gamma signature, Miller 2012)."""
    n = int(seconds * SFREQ)
    t = np.arange(n) / SFREQ
    moving = np.zeros(n, dtype=bool)
    start = 2.0
    while start < seconds - 4:
        length = rng.uniform(2.0, 4.0)
        moving[(t >= start) & (t < start + length)] = True
        start += length + rng.uniform(3.0, 5.0)
    pink = np.cumsum(rng.standard_normal((len(ECOG) + len(LFP), n)), axis=1)
    pink = pink - pink.mean(axis=1, keepdims=True)
    pink *= 5e-6 / pink.std(axis=1, keepdims=True)
    gamma = np.zeros((len(ECOG), n))
    for f in (90.0, 110.0, 130.0):
        gamma += np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28, (len(ECOG), 1)))
    noise = rng.standard_normal((len(ECOG), n)) * 1e-6
    ecog = pink[: len(ECOG)] + noise + gamma * moving * 3e-6
    lfp = pink[len(ECOG) :]
    force = np.where(moving, 1.0, 0.0) + rng.normal(0, 0.02, n)  # arbitrary units
    line = 2e-6 * np.sin(2 * np.pi * 60.0 * t)
    return np.vstack([ecog + line, lfp + line, force[None]]), moving


def write_bids(root: Path, rng: np.random.Generator, seconds: float = 60.0) -> Path:
    """A BIDS-iEEG dataset; returns the .vhdr path. LFP_1 is marked bad in channels.tsv."""
    import mne
    from mne_bids import BIDSPath, write_raw_bids

    data, moving = grip_signals(rng, seconds)
    types = ["ecog"] * len(ECOG) + ["dbs"] * len(LFP) + ["misc"]
    info = mne.create_info(ECOG + LFP + [FORCE], SFREQ, types)
    info["line_freq"] = 60.0
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.set_meas_date(None)
    raw.info["bads"] = ["LFP_1"]
    onsets = np.flatnonzero(np.diff(moving.astype(int)) == 1) / SFREQ
    offsets = np.flatnonzero(np.diff(moving.astype(int)) == -1) / SFREQ
    raw.set_annotations(mne.Annotations(onsets, offsets - onsets, ["grip"] * len(onsets)))
    path = BIDSPath(subject="lab1", session="a", task="grip", run="1", datatype="ieeg", root=root)
    write_raw_bids(
        raw, path, format="BrainVision", allow_preload=True, verbose="error", overwrite=True
    )
    return next((root / "sub-lab1" / "ses-a" / "ieeg").glob("*_ieeg.vhdr"))
