"""Running a protocol: pre-registration hash, cohort, batches on a runner, assembly, summary."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openbsi.trials.analysis import analyse, consort, mixed_model, rounded, success
from openbsi.trials.cohort import Cohort, build_cohort
from openbsi.trials.protocol import Protocol
from openbsi.trials.runners import Checkpoint, Runner, SerialRunner
from openbsi.trials.simulate import ArmCourses, SimulateFn, Task, assemble, make_tasks

DEFAULT_BATCH = 64  # patients per task


@dataclass
class TrialRun:
    protocol: Protocol
    cohort: Cohort
    courses: list[ArmCourses]
    summary: dict[str, Any]


def preregister(protocol: Protocol, data: bytes, out: Path) -> None:
    """Write the protocol's exact bytes and SHA-256 into `out` before anything runs."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "protocol.yaml").write_bytes(data)
    (out / "protocol.sha256").write_text(f"{protocol.sha256}  protocol.yaml\n")


def _progress(total: int, quiet: bool):
    """A rich progress bar on stderr counting patient courses; returns (update, close)."""
    if quiet:
        return (lambda task, result: None), (lambda: None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = Console(stderr=True)

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    bar.start()
    job = bar.add_task("patient courses", total=total)

    def update(task: Task, result) -> None:
        bar.advance(job, task.stop - task.start)

    return update, bar.stop


def model_fingerprint() -> str:
    """SHA-256 of every recovery parameter (name, value, range, grade) and the recovery code, so
    a checkpoint written by another model version is not reused."""
    import hashlib
    from pathlib import Path

    import openbsi.recovery as recovery

    digest = hashlib.sha256()
    for name in recovery.therapy_names():
        for p in recovery.therapy_parameters(name):
            digest.update(repr((p.name, p.value, p.low, p.high, p.grade)).encode())
    for path in sorted(Path(recovery.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def simulate_trial(
    protocol: Protocol,
    *,
    runner: Runner | None = None,
    trial: int = 0,
    n: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    overrides: Mapping[str, float] | None = None,
    simulate: SimulateFn | None = None,
    checkpoint_dir: Path | None = None,
    on_batch: Callable[[Task, Any], None] | None = None,
    quiet: bool = True,
) -> tuple[Cohort, list[ArmCourses]]:
    """Cohort and every simulated arm's courses for one trial (a checkpoint makes it resumable)."""
    runner = runner or SerialRunner()
    cohort = build_cohort(protocol, trial, n=n)
    tasks = make_tasks(protocol, trial, cohort.patients, batch_size=batch_size, overrides=overrides)
    checkpoint = None
    if checkpoint_dir is not None:
        manifest = {
            "protocol_sha256": protocol.sha256,
            "model": model_fingerprint(),
            "trial": trial,
            "n": cohort.n_enrolled,
            "batch_size": batch_size,
            "overrides": dict(sorted((overrides or {}).items())),
        }
        checkpoint = Checkpoint(checkpoint_dir, manifest)
    update, close = _progress(sum(t.stop - t.start for t in tasks), quiet)

    def on_result(task, result):
        update(task, result)
        if on_batch is not None:
            on_batch(task, result)

    try:
        results = runner.run(tasks, simulate=simulate, checkpoint=checkpoint, on_result=on_result)
    finally:
        close()
    courses = assemble(
        protocol,
        trial,
        cohort.n_enrolled,
        cohort.dropout_day,
        results,
        batch_size=batch_size,
        overrides=overrides,
    )
    return cohort, courses


def summarise(
    protocol: Protocol, cohort: Cohort, courses: list[ArmCourses], *, longitudinal: bool = True
) -> dict[str, Any]:
    """summary.json's content apart from runner and wall_s (see the issue's exact shape)."""
    body = analyse(protocol, cohort, courses)
    shares = [c.assumption_share for c in courses if not c.counterfactual]
    shares = [x for x in shares if x == x]  # nan: an arm with no therapy gain
    share = sum(shares) / len(shares) if shares else None
    summary = {
        "protocol_sha256": protocol.sha256,
        "protocol": protocol.name,
        "model_sha256": model_fingerprint(),  # the recovery model the result comes from
        "design": protocol.design.kind,
        "seed": protocol.seed,
        "primary": protocol.primary,
        "arms": body["arms"],
        "comparisons": body["comparisons"],
        "success": None,
        "safety": body["safety"],
        "consort": consort(protocol, cohort, body["arms"]),
        "longitudinal": mixed_model(protocol, cohort, courses) if longitudinal else None,
        "assumption_share": share,  # mean over the trial arms
    }
    summary["success"] = success(protocol, summary)
    return rounded(summary)


def run_protocol(
    protocol: Protocol,
    *,
    runner: Runner | None = None,
    batch_size: int = DEFAULT_BATCH,
    simulate: SimulateFn | None = None,
    checkpoint_dir: Path | None = None,
    on_batch: Callable[[Task, Any], None] | None = None,
    quiet: bool = True,
    longitudinal: bool = True,
) -> TrialRun:
    runner = runner or SerialRunner()
    start = time.perf_counter()
    cohort, courses = simulate_trial(
        protocol,
        runner=runner,
        batch_size=batch_size,
        simulate=simulate,
        checkpoint_dir=checkpoint_dir,
        on_batch=on_batch,
        quiet=quiet,
    )
    summary = summarise(protocol, cohort, courses, longitudinal=longitudinal)
    summary["runner"] = runner.name
    summary["wall_s"] = round(time.perf_counter() - start, 3)
    return TrialRun(protocol, cohort, courses, summary)
