"""In-silico trials on top of recovery/: protocols, cohorts, runners, analysis and reports.

    protocol, data = load_protocol("uplift.yaml")
    run = run_protocol(protocol, runner=make_runner(ray="auto", workers=2))
    run.summary["arms"]["uplift"]["responders"]["both"]

Imports recovery only (never runtime, decoding or web). See docs/trials.md.
"""

from openbsi.trials.cohort import Cohort, build_cohort
from openbsi.trials.power import power_curve, sensitivity
from openbsi.trials.protocol import Protocol, load_protocol, parse_protocol
from openbsi.trials.run import TrialRun, run_protocol, simulate_trial, summarise
from openbsi.trials.runners import (
    Checkpoint,
    ProcessRunner,
    RayRunner,
    Runner,
    SerialRunner,
    make_runner,
)

__all__ = [
    "Checkpoint",
    "Cohort",
    "ProcessRunner",
    "Protocol",
    "RayRunner",
    "Runner",
    "SerialRunner",
    "TrialRun",
    "build_cohort",
    "load_protocol",
    "make_runner",
    "parse_protocol",
    "power_curve",
    "run_protocol",
    "sensitivity",
    "simulate_trial",
    "summarise",
]
