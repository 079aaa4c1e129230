"""Signal drill: stop a real `openbsi session` with SIGTERM / SIGINT / SIGHUP at a random moment
and check that it left a complete, verified run folder and stopped stimulating in time.

Each run starts `openbsi session --model M` (virtual patient, real clock) in its own process,
waits until the recording has started, lets it run a random time (the signal may land during
the closed loop, the wind-down or while the run folder is written) and sends the signal. Then:
exit code 128 + signal, recording.nwb + metrics.json + report.html present, `verify` ok (log
closed, nothing dropped, chain and seal intact), and the last recorded pulse within 1 s of the
signal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RUN_FOLDER = ("recording.nwb", "metrics.json", "report.html")


def signal_once(
    model: Path, folder: Path, signum: int, after_s: float, seed: int, seconds: float = 4.0
) -> dict:
    """One run: the signal `after_s` seconds after the log appeared."""
    from openbsi.store.nwb import read_nwb
    from openbsi.store.verify import verify_recording

    command = [
        sys.executable,
        "-m",
        "openbsi",
        "session",
        "--model",
        str(model),
        "--seconds",
        str(seconds),
        "--seed",
        str(seed),
        "--body",
        "reduced",
        "--out",
        str(folder),
        "--json",
    ]
    import openbsi

    source = str(Path(openbsi.__file__).resolve().parents[1])  # this openbsi, wherever we run
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
    )
    log = folder / "session.obsilog"
    sent_at_s = None
    try:
        deadline = time.monotonic() + 120.0
        while not log.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        time.sleep(after_s)
        if process.poll() is None:
            sent_ns = time.monotonic_ns()
            process.send_signal(signum)
            sent_at_s = sent_ns / 1e9
        out, _ = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        return {"signal": signal.Signals(signum).name, "complete": False, "hung": True}
    present = [name for name in RUN_FOLDER if (folder / name).exists()]
    verdict = (
        verify_recording(folder / "recording.nwb")
        if "recording.nwb" in present
        else {"ok": False, "problems": ["no recording.nwb"]}
    )
    last_pulse_after_signal_s = None
    if "recording.nwb" in present and sent_at_s is not None:
        data = read_nwb(folder / "recording.nwb", load_ecog=False)
        run = data.summaries.get("stop", {})
        if len(data.pulses) and len(data.ecog_chunks):
            # session time -> monotonic: the chunks carry both (t_s and their acquisition stamp)
            offset_s = float(data.ecog_chunks.t_ns[-1]) / 1e9 - float(data.ecog_chunks.t_s[-1])
            last_pulse_after_signal_s = float(data.pulses.t_s.max()) + offset_s - sent_at_s
        stopped = run.get("reason")
    else:
        stopped = None
    try:
        printed = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    except json.JSONDecodeError:
        printed = None
    # 128 + signal when the session saw it; -signal when it landed after the run folder was
    # complete and the handlers were gone (the process ended by the signal itself)
    expected = {128 + signum, -signum} if sent_at_s is not None else {0}
    return {
        "signal": signal.Signals(signum).name,
        "after_s": round(after_s, 3),
        "signal_sent": sent_at_s is not None,
        "exit_code": process.returncode,
        "exit_code_ok": process.returncode in expected,
        "present": present,
        "verified": bool(verdict["ok"]),
        "problems": verdict["problems"][:3],
        "stop_reason": stopped,
        "json_verdict": isinstance(printed, dict),
        "last_pulse_after_signal_s": last_pulse_after_signal_s,
        "complete": len(present) == len(RUN_FOLDER) and bool(verdict["ok"]),
    }


def drill(
    model: Path, work: Path, *, runs: int, rng: np.random.Generator, seconds: float = 4.0
) -> list[dict]:
    """`runs` runs per signal (SIGTERM, SIGINT, SIGHUP), each at a random moment."""
    results = []
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        for k in range(runs):
            folder = work / f"{signal.Signals(signum).name.lower()}-{k}"
            after_s = float(rng.uniform(0.0, seconds + 1.5))
            results.append(signal_once(model, folder, signum, after_s, k, seconds))
    return results
