"""Malformed logs (fuzzing, as the FDA premarket guidance asks): the reader never returns
altered data and never crashes on damage after the header."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbsi.store.framing import MAGIC
from openbsi.store.session_log import LOG_NAME, SessionRecorder, read_log
from openbsi.store.synthetic import synthetic_info

N_CHUNKS = 12


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, int, dict[bytes, float]]:
    folder = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(70)
    blocks = {}
    with SessionRecorder(folder, synthetic_info(3)) as rec:
        for k in range(N_CHUNKS):
            block = rng.normal(size=(3, 8)).astype("f4")
            rec.ecog(block, k * 8 / 586.0, k)
            rec.decode(k * 0.1, "rest", np.full(7, 1 / 7), 0.5)
            blocks[hashlib.sha256(block.T.copy().tobytes()).digest()] = k * 8 / 586.0
        header_end = rec.path.stat().st_size
    raw = (folder / LOG_NAME).read_bytes()
    return raw, header_end, blocks


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_damaged_logs_never_yield_altered_samples(
    original: tuple[bytes, int, dict[bytes, float]], tmp_path: Path, data: st.DataObject
) -> None:
    raw, header_end, blocks = original
    damaged = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4), label="n_edits")):
        if len(damaged) <= header_end:
            break
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "truncate"]), label="kind")
        at = data.draw(st.integers(header_end, len(damaged) - 1), label="at")
        if kind == "flip":
            damaged[at] ^= data.draw(st.integers(1, 255), label="mask")
        elif kind == "cut":
            del damaged[at : at + data.draw(st.integers(1, 64), label="n")]
        elif kind == "insert":
            damaged[at:at] = data.draw(st.binary(min_size=1, max_size=64), label="junk")
        else:
            del damaged[at:]
    path = tmp_path / "damaged.obsilog"
    path.write_bytes(bytes(damaged))
    session = read_log(path)
    assert session.ecog.shape[1] == 3
    starts = session.ecog_chunks.first_sample
    for i, first in enumerate(starts):  # every chunk that came back is an original one
        block = session.ecog[first : first + session.ecog_chunks.n_samples[i]]
        key = hashlib.sha256(np.ascontiguousarray(block).tobytes()).digest()
        assert blocks.get(key) == session.ecog_chunks.t_s[i]
    assert all(d["amplitude"] == 0.5 for d in session.decodes)
    if bytes(damaged) != raw:
        assert session.problems or len(session.ecog_chunks) < N_CHUNKS or not session.closed


def test_damaged_magic_is_refused(original: tuple[bytes, int, dict], tmp_path: Path) -> None:
    path = tmp_path / "x.obsilog"
    path.write_bytes(b"X" + original[0][1:])
    with pytest.raises(ValueError, match="magic"):
        read_log(path)
    assert original[0].startswith(MAGIC)
