"""Crash safety: SIGKILL a writer process at random moments, then recover and verify.

Bar (issue 6): `recording recover` gives an NWB that verifies and holds all data up to <= 1 s
before the kill. The writer stamps each chunk with time.monotonic_ns() (CLOCK_MONOTONIC is
shared by all processes of the machine), so the parent can compare with its kill time.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path

import numpy as np
import pytest

from openbsi.store.nwb import log_to_nwb
from openbsi.store.session_log import LOG_NAME, SessionRecorder, read_log
from openbsi.store.synthetic import synthetic_info
from openbsi.store.verify import verify_recording

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
N_KILLS = 10
TICK_S = 0.01  # 10x faster than the real loop, to keep the test short


def _write_forever(folder: Path, seed: int, ready: Event) -> None:
    """The killed writer: a loop recording every TICK_S like the session loop would."""
    rng = np.random.default_rng(seed)
    rec = SessionRecorder(folder, synthetic_info(8))
    ready.set()
    k = 0
    while True:
        t_ns = time.monotonic_ns()
        rec.ecog(rng.normal(size=(8, 6)), k * 6 / 586.0, t_ns)
        rec.decode(k * TICK_S, "rest", np.full(7, 1 / 7), 0.0)
        rec.latency(k, {"acquired": t_ns, "stimulated": time.monotonic_ns()})
        rec.pulses(np.array([k * TICK_S]), np.array([k % 16]), np.array([1.0]), np.array([200.0]))
        k += 1
        time.sleep(TICK_S)


def _start(folder: Path, seed: int) -> tuple[BaseProcess, Event]:
    """Fork (no re-import: fast) a writer process."""
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    process = context.Process(target=_write_forever, args=(folder, seed, ready), daemon=True)
    process.start()
    return process, ready


def test_sigkill_at_random_moments_loses_at_most_one_second(tmp_path: Path) -> None:
    rng = np.random.default_rng(60)
    folders = [tmp_path / f"run{i}" for i in range(N_KILLS)]
    writers = [_start(f, i) for i, f in enumerate(folders)]
    kill_ns = []
    try:
        for _, ready in writers:
            assert ready.wait(30)
        for process, _ in writers:
            time.sleep(float(rng.uniform(0.0, 0.3)))
            kill_ns.append(time.monotonic_ns())
            os.kill(process.pid, signal.SIGKILL)
            process.join()
            assert process.exitcode == -signal.SIGKILL
    finally:
        for process, _ in writers:
            if process.is_alive():
                process.kill()
                process.join()
    for folder, killed_ns in zip(folders, kill_ns, strict=True):
        data = read_log(folder / LOG_NAME)
        assert not data.closed
        assert not any("hash chain" in p for p in data.problems)
        chunks = data.ecog_chunks
        assert len(chunks) > 0
        assert killed_ns - int(chunks.t_ns[-1]) <= 1_000_000_000  # the bar: <= 1 s lost
        np.testing.assert_allclose(chunks.t_s, np.arange(len(chunks)) * 6 / 586.0)  # no gap
        assert len(data.decodes) >= len(chunks) - 1
        assert len(data.pulses) >= len(chunks) - 1
        nwb_path = log_to_nwb(folder / LOG_NAME, folder / "recovered.nwb")
        result = verify_recording(nwb_path)
        assert result["integrity_ok"], result["problems"]
        assert result["recovered"] and not result["ok"]  # reported as recovered, not as complete
        assert result["chunks"] == len(chunks)  # chain recomputed over every stored sample


def test_killed_conversion_leaves_no_half_written_nwb(tmp_path: Path) -> None:
    """write_nwb writes to *.partial.nwb and renames: a crash never leaves a corrupt target."""
    code = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from openbsi.store.synthetic import record_synthetic_session\n"
        "from openbsi.store.nwb import log_to_nwb\n"
        "d = Path(sys.argv[1])\n"
        "record_synthetic_session(d, np.random.default_rng(0), seconds=30, n_channels=64)\n"
        "print('ready', flush=True)\n"
        "log_to_nwb(d / 'session.obsilog', d / 'recording.nwb')\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    writer.kill()
    writer.wait()
    target = tmp_path / "recording.nwb"
    assert not target.exists() or verify_recording(target)["ok"]
    assert read_log(tmp_path / LOG_NAME).closed  # the log is intact and can be converted again
