"""Runners: where batches of patients are simulated. Serial, a process pool, or Ray.

All runners take the same tasks and return the same results (seeds travel with each task, see
simulate.py); only where and in which order tasks run differs. A `Checkpoint` stores every
finished batch, so an interrupted run resumes where it stopped and ends with the same result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import numpy as np

from openbsi.trials.simulate import BatchResult, SimulateFn, Task, run_task

OnResult = Callable[[Task, BatchResult], None]
# Ray >= 2.59 turns token authentication on for new local clusters; the local clusters these
# runs start are private to the machine, so it is disabled unless the user set it (Ray accepts
# "disabled" or "token": docs.ray.io, "Token Authentication").
RAY_AUTH_MODE = "disabled"


class Runner:
    """Runs tasks; subclasses override `_run`, which yields (task, result) as they finish."""

    name = "base"

    def run(
        self,
        tasks: Sequence[Task],
        *,
        simulate: SimulateFn | None = None,
        checkpoint: Checkpoint | None = None,
        on_result: OnResult | None = None,
    ) -> dict[str, BatchResult]:
        results: dict[str, BatchResult] = {}
        todo = []
        for task in tasks:
            cached = checkpoint.load(task.key) if checkpoint is not None else None
            if cached is not None:
                results[task.key] = cached
                if on_result is not None:
                    on_result(task, cached)
            else:
                todo.append(task)
        for task, result in self._run(todo, simulate):
            if checkpoint is not None:
                checkpoint.save(result)
            results[task.key] = result
            if on_result is not None:
                on_result(task, result)
        return results

    def _run(
        self, tasks: Sequence[Task], simulate: SimulateFn | None
    ) -> Iterator[tuple[Task, BatchResult]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (a no-op unless the runner started them)."""


class SerialRunner(Runner):
    name = "serial"

    def _run(self, tasks, simulate):
        for task in tasks:
            yield task, run_task(task, simulate)


class ProcessRunner(Runner):
    """A local process pool with `workers` processes; at most 2 x workers tasks in flight."""

    name = "process"

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers

    def _run(self, tasks, simulate):
        if not tasks:
            return
        with ProcessPoolExecutor(max_workers=self.workers) as pool:
            pending = {}
            queue = list(tasks)
            while queue or pending:
                while queue and len(pending) < 2 * self.workers:
                    task = queue.pop(0)
                    pending[pool.submit(run_task, task, simulate)] = task
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: pending[f].key):
                    yield pending.pop(future), future.result()


def _ray():
    os.environ.setdefault("RAY_AUTH_MODE", RAY_AUTH_MODE)
    import ray

    return ray


def init_ray(address: str = "auto", *, workers: int = 2) -> None:
    """Connect to Ray: `auto` joins a running cluster or starts a local one with `workers` CPUs."""
    ray = _ray()
    if ray.is_initialized():
        return
    kwargs = {"include_dashboard": False, "log_to_driver": False}
    if address == "auto":
        try:
            ray.init(address="auto", **kwargs)
            return
        except ConnectionError:
            pass
        # 200 MB object store: batches are small (assumption: enough for 10k-patient runs)
        ray.init(num_cpus=workers, object_store_memory=200 * 1024**2, **kwargs)
    else:
        ray.init(address=address, **kwargs)


class RayRunner(Runner):
    """Ray tasks, one per batch; `workers` bounds the tasks in flight (the parallelism used)."""

    name = "ray"

    def __init__(self, address: str = "auto", workers: int = 2) -> None:
        self.address = address
        self.workers = workers
        self._remote = None

    def _run(self, tasks, simulate):
        if not tasks:
            return
        ray = _ray()
        init_ray(self.address, workers=self.workers)
        if self._remote is None:
            self._remote = ray.remote(num_cpus=1, max_retries=1)(run_task)
        simulate_ref = ray.put(simulate)
        queue = list(tasks)
        pending: dict = {}
        while queue or pending:
            while queue and len(pending) < self.workers:
                task = queue.pop(0)
                pending[self._remote.remote(task, simulate_ref)] = task
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                yield pending.pop(ref), ray.get(ref)


def make_runner(ray: str | None = None, workers: int = 1) -> Runner:
    """`--ray ADDRESS|auto` -> RayRunner; `--workers N > 1` -> ProcessRunner; else serial."""
    if ray is not None:
        return RayRunner(ray, workers=max(1, workers))
    if workers > 1:
        return ProcessRunner(workers)
    return SerialRunner()


class Checkpoint:
    """Finished batches under `folder/`, one .npz each, written atomically; a manifest guards
    against resuming with another protocol, batch size or overrides."""

    def __init__(self, folder: Path, manifest: dict) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "manifest.json"
        if path.exists():
            existing = json.loads(path.read_text())
            if existing != manifest:
                for old in self.folder.glob("*.npz"):  # another run: start afresh
                    old.unlink()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, sort_keys=True))
        os.replace(tmp, path)

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def load(self, key: str) -> BatchResult | None:
        path = self._path(key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return BatchResult.from_npz(dict(data))
        except (OSError, ValueError, KeyError):  # a torn file from a crash: recompute it
            return None

    def save(self, result: BatchResult) -> None:
        path = self._path(result.key)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **result.to_npz())
        os.replace(tmp, path)

    def count(self) -> int:
        return len(list(self.folder.glob("t*.npz")))
