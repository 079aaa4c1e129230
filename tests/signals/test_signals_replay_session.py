"""Replaying the project's own recording.nwb gives back exactly the recorded ECoG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openbsi.signals.replay import ReplaySource


def test_replay_of_a_session_recording(tmp_path: Path) -> None:
    from openbsi.store.nwb import log_to_nwb, read_nwb
    from openbsi.store.synthetic import record_synthetic_session

    record_synthetic_session(tmp_path, np.random.default_rng(0), seconds=2.0, n_channels=8)
    log = next(p for p in tmp_path.iterdir() if p.is_file())
    nwb = log_to_nwb(log, tmp_path / "recording.nwb")
    recorded = read_nwb(nwb)
    with ReplaySource(nwb) as source:
        assert source.info.channel_names == recorded.info.channel_names
        assert source.info.sfreq_hz == recorded.info.sfreq_hz
        chunks = list(source.chunks(59))
    replayed = np.concatenate([c.data for c in chunks], axis=1)
    np.testing.assert_allclose(replayed, recorded.ecog.T.astype(np.float64), rtol=1e-6)
