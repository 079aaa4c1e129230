"""Recording benchmark: memory and speed of a long simulated session, and of its conversion.

    python -m openbsi.bench.store --minutes 60 --channels 64 --out /tmp/obsi-bench [--json]

Records `minutes` of session (every record type at the loop's rates: ECoG at 586 Hz in 100 ms
chunks, one decode, latency, command, pulse batch and kinematics batch per tick) as fast as
possible, sampling RSS as it goes, then converts the log to NWB, verifies it, and reports
peak RSS at 10 min vs at the end (Linux /proc).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

from openbsi.bench.common import peak_rss_mb, rss_mb, summary
from openbsi.store.session_log import LOG_NAME, SessionRecorder
from openbsi.store.synthetic import SFREQ_HZ, TICK_S, synthetic_info


def record(folder: Path, minutes: float, n_channels: int, rng: np.random.Generator) -> dict:
    rec = SessionRecorder(folder, synthetic_info(n_channels))
    per_tick = round(SFREQ_HZ * TICK_S)
    blocks = [rng.normal(0, 20, (n_channels, per_tick)).astype("f4") for _ in range(16)]
    probs = np.full(7, 1 / 7)
    n_ticks = round(minutes * 60 / TICK_S)
    rss_at: dict[str, float] = {}
    start = time.perf_counter()
    call_us = np.zeros(n_ticks)
    for k in range(n_ticks):
        t_s = k * TICK_S
        before = time.perf_counter()
        rec.ecog(blocks[k % 16], k * per_tick / SFREQ_HZ, k)  # on the sample clock
        call_us[k] = (time.perf_counter() - before) * 1e6
        rec.decode(t_s, "rest", probs, 0.0)
        rec.latency(
            k,
            {
                "acquired": k,
                "features": k + 1,
                "decoded": k + 2,
                "safety": k + 3,
                "stimulated": k + 4,
            },
        )
        rec.stim_command(
            t_s,
            k,
            "rest",
            False,
            False,
            [{"electrode": 3, "amplitude_ma": 2.0, "pulse_width_us": 300.0, "frequency_hz": 40.0}],
        )
        rec.pulses(t_s + np.arange(4) / 40, np.full(4, 3), np.full(4, 2.0), np.full(4, 300.0))
        rec.kinematics(t_s + np.arange(10) / 100, {"left_knee_rad": np.zeros(10)})
        minute = (k + 1) * TICK_S / 60
        if minute in (1.0, 10.0) or k == n_ticks - 1:
            rss_at[f"{minute:g}min"] = rss_mb()
    elapsed = time.perf_counter() - start
    rec.close()
    return {
        "seconds": elapsed,
        "realtime_factor": minutes * 60 / elapsed,
        "rss_mb": rss_at,
        "ecog_call_us": summary(call_us),
        "log_mb": (folder / LOG_NAME).stat().st_size / 1e6,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("/tmp/openbsi-store-bench"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    args = parser.parse_args(argv)
    from openbsi.store.nwb import log_to_nwb  # imported late: not part of the recording RSS
    from openbsi.store.verify import verify_recording

    shutil.rmtree(args.out, ignore_errors=True)
    result = {"minutes": args.minutes, "channels": args.channels}
    result["record"] = record(args.out, args.minutes, args.channels, np.random.default_rng(0))
    result["record"]["peak_rss_mb"] = peak_rss_mb()
    start = time.perf_counter()
    nwb_path = log_to_nwb(args.out / LOG_NAME, args.out / "recording.nwb")
    result["convert"] = {
        "seconds": time.perf_counter() - start,
        "peak_rss_mb": peak_rss_mb(),
        "nwb_mb": nwb_path.stat().st_size / 1e6,
    }
    start = time.perf_counter()
    verdict = verify_recording(nwb_path)
    result["verify"] = {
        "seconds": time.perf_counter() - start,
        "ok": verdict["ok"],
        "peak_rss_mb": peak_rss_mb(),
    }
    if not args.keep:
        shutil.rmtree(args.out, ignore_errors=True)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
