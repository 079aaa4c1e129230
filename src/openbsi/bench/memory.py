"""Memory over a long simulated session: RSS sampled every simulated minute.

    .venv/bin/python -m openbsi.bench.memory --minutes 60 --out runs/memory

Prints one JSON object: {"rss_mb_by_minute": {...}, "rss_mb_10min", "rss_mb_60min", ...}.
The session is the real one (`openbsi session --fast`): virtual patient, link, implant,
recording; only the clock is simulated.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from openbsi.bench.common import rss_mb
from openbsi.runtime.clock import SimulatedClock
from openbsi.runtime.live_session import LiveSessionConfig, run_live_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=Path("runs/memory"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    by_minute: dict[str, float | None] = {}

    def progress(phase: str, done_s: float, total_s: float) -> None:
        if phase != "closed loop":
            return
        minute = int(done_s // 60)
        if str(minute) not in by_minute and done_s >= 60 * minute:
            now = rss_mb()
            by_minute[str(minute)] = None if now is None else round(now, 1)

    config = LiveSessionConfig(
        out_dir=args.out, seconds=args.minutes * 60, seed=args.seed, calibration_s=60.0
    )
    result = run_live_session(config, progress, clock=SimulatedClock())
    minutes = sorted(by_minute, key=int)
    print(
        json.dumps(
            {
                "simulated_minutes": args.minutes,
                "rss_mb_by_minute": {m: by_minute[m] for m in minutes},
                "rss_mb_10min": by_minute.get("10"),
                "rss_mb_last": by_minute[minutes[-1]] if minutes else None,
                "wall_s": result.metrics["run"]["wall_s"],
                "nwb_mb": round(result.nwb_path.stat().st_size / 2**20, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
