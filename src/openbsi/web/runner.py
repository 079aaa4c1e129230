"""Sessions run in their own process: `python -m openbsi session ...`, never in the server.

The runner prepares the decoder model once per seed (a cued calibration on the virtual patient,
run as `python -m openbsi demo ...` in its own process too), starts the session process in its
own process group (it outlives the web server: if the app dies, the session goes on and its log
stays intact), and writes signed control lines (runtime/control.py) for the emergency stop and
annotations.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from openbsi.runtime.control import CONTROL_NAME, KEY_ENV, append_command

logger = logging.getLogger(__name__)
CALIBRATION_S = 60.0  # cued calibration of the app's decoder models (simulated, ~10 s to run)
BODY = "reduced"  # the fast planar legs: the live view needs real time on a shared machine


def model_path(models_dir: Path, seed: int) -> Path:
    return Path(models_dir) / f"seed-{seed}" / "model.obsi"


def prepare_model(models_dir: Path, seed: int) -> Path:
    """The calibrated decoder for the virtual patient of `seed` (made once, in a subprocess)."""
    path = model_path(models_dir, seed)
    if path.is_file():
        return path
    out = path.parent
    command = [
        sys.executable,
        "-m",
        "openbsi",
        "demo",
        "--out",
        str(out),
        "--seconds",
        "1",
        "--calibration-s",
        str(CALIBRATION_S),
        "--body",
        BODY,
        "--seed",
        str(seed),
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0 or not path.is_file():
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"model calibration failed (exit {done.returncode}): {tail[0]}")
    return path


def metadata_options(meta: dict) -> list[str]:
    """The recording's subject and study options (cli/metadata_options.py) from the metadata
    the lab entered before recording, so the NWB and BIDS files carry them from the start."""
    options = ["--subject-id", str(meta["subject"]), "--sex", str(meta["subject_sex"])]
    options += ["--age", str(meta["subject_age"])]
    for name in meta.get("experimenter") or []:
        options += ["--experimenter", str(name)]
    if meta.get("institution"):
        options += ["--institution", str(meta["institution"])]
    return options


def session_command(
    run_dir: Path, model: Path, source: str, seconds: float, seed: int, meta: dict
) -> list:
    return [
        sys.executable,
        "-m",
        "openbsi",
        "session",
        "--source",
        source,
        "--stimulator",
        "virtual",
        "--model",
        str(model),
        "--seconds",
        f"{seconds:g}",
        "--out",
        str(run_dir),
        "--program",
        str(run_dir / "program.yaml"),
        "--body",
        BODY,
        "--seed",
        str(seed),
        *metadata_options(meta),
        "--json",
    ]


def start_session(
    run_dir: Path,
    command: list[str],
    key_hex: str,
    on_exit: Callable[[int], None],
    prepare: Callable[[], None] | None = None,
) -> threading.Thread:
    """Run `prepare` then the session process from a watcher thread; on_exit(returncode)."""

    def watch() -> None:
        code = -1
        try:
            if prepare is not None:
                prepare()
            env = {**os.environ, KEY_ENV: key_hex, "PYTHONUNBUFFERED": "1"}
            with (
                open(run_dir / "session.stdout", "wb") as stdout,
                open(run_dir / "session.stderr", "wb") as stderr,
            ):
                process = subprocess.Popen(
                    command, stdout=stdout, stderr=stderr, env=env, start_new_session=True
                )
                (run_dir / "session.pid").write_text(str(process.pid))
                code = process.wait()
        except Exception:
            logger.exception("session in %s failed to start", run_dir)
        finally:
            on_exit(code)

    thread = threading.Thread(target=watch, name=f"session-{run_dir.name}", daemon=True)
    thread.start()
    return thread


def send_control(run_dir: Path, key_hex: str, fields: dict) -> None:
    append_command(Path(run_dir) / CONTROL_NAME, bytes.fromhex(key_hex), fields)


def process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
