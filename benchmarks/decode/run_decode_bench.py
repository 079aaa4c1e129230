"""Decoding figures for issue 3, written to benchmarks/decode/results/ (JSON).

Runs the same code as the CLI:
    openbsi bench decode --channels 64,256,1024 --json
    openbsi decode evaluate --seed S --days 5 --json
    openbsi calibrate --minutes 5 --out model.obsi --json
Usage: .venv/bin/python benchmarks/decode/run_decode_bench.py [--quick]
(--quick: 64 channels and one seed, for a smoke run while developing.)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from openbsi.bench.decode import bench_decode
from openbsi.report.metrics import json_safe
from openbsi.runtime.pseudo_online import calibrate_virtual, evaluate

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    channels = [64] if args.quick else [64, 256, 1024]
    seeds = [0] if args.quick else [0, 1, 2]
    (RESULTS / "bench_decode.json").write_text(json.dumps(bench_decode(channels), indent=1))
    runs = [
        evaluate(["mslm", "mslm_nohmm", "bandpower_lda", "kalman"], seed=s, days=5) for s in seeds
    ]
    (RESULTS / "evaluate.json").write_text(json.dumps(json_safe(runs), indent=1))
    calibration = []
    for s in seeds:
        result = calibrate_virtual("mslm", minutes=5.0, seed=s)
        calibration.append(
            {"seed": s, "minutes": result.minutes, "validation": result.validation_accuracy}
        )
    (RESULTS / "calibrate.json").write_text(json.dumps(calibration, indent=1))


if __name__ == "__main__":
    main()
