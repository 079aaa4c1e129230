"""`openbsi bench integrity`: the tamper and hostile-input suites, caught / missed per class.

Classes:
- tamper.nwb / tamper.log: every field of a recording edited in turn (store/tamper.py); caught =
  `verify` says the recording was altered.
- recovered: a recording rebuilt from an unclosed log is reported as recovered.
- hostile.programs / hostile.logs / hostile.recordings: malformed, hostile or mangled files;
  caught = a valid object or a clean refusal (InputError, or a verdict) within the time bound;
  missed = any other exception, or a hang (SIGALRM after HANG_S).
- hostile.cli: absurd option values and files given to the `openbsi` command in a subprocess;
  caught = non-zero exit, no traceback, and with --json one JSON object on stdout.
- signals (with --signals N): SIGTERM / SIGINT / SIGHUP at random moments of a real session;
  caught = a complete, verified run folder, the right exit code, no pulse 1 s after the signal.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from openbsi.bench.common import OPENBSI, child_env, load_average

HANG_S = 20


class _Hang(Exception):  # noqa: N818 (a verdict, not an error)
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise _Hang


def _tally(outcomes: Iterator[tuple[str, bool, str]]) -> dict:
    cases = caught = 0
    missed: list[dict] = []
    slowest = 0.0
    start = time.perf_counter()
    for target, ok, detail in outcomes:
        cases += 1
        caught += ok
        if not ok and len(missed) < 20:
            missed.append({"case": target, "detail": detail[:200]})
    slowest = time.perf_counter() - start
    return {
        "cases": cases,
        "caught": caught,
        "missed": cases - caught,
        "missed_cases": missed,
        "seconds": round(slowest, 2),
    }


def _guarded(call: Callable[[], object]) -> tuple[bool, str]:
    """(clean, detail): clean = returned, or refused with a ValueError (InputError is one)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_S)
    try:
        call()
        return True, ""
    except _Hang:
        return False, f"hang (> {HANG_S} s)"
    except ValueError as error:  # a clean, named refusal
        text = str(error)
        return "\n" not in text, text
    except Exception as error:
        return False, f"{type(error).__name__}: {error}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------ hostile inputs
def _hostile_programs(rng: np.random.Generator, n: int) -> Iterator[tuple[str, bool, str]]:
    import yaml

    from openbsi.inputs import load_yaml
    from openbsi.safety.program_check import validate_program
    from openbsi.stimulation.examples import WALKING_PROGRAM_FILE
    from openbsi.stimulation.program_file import program_from_data

    walking = WALKING_PROGRAM_FILE.read_bytes()
    fixed = {
        "python tag": b"states: !!python/object/apply:os.system ['true']",
        "alias bomb": b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
        "deep nesting": b"[" * 2000 + b"]" * 2000,
        "400-digit integer": b"schema_version: " + b"9" * 400,
        "duplicate states": walking + b"\nstates: {}\n",
        "duplicate amplitude": b"name: p\nbackend: paddle\nstates:\n  rest:\n"
        b"  - {electrodes: [1], amplitude_ma: 2.0, pulse_width_us: 300, frequency_hz: 40,"
        b" amplitude_ma: 9.0}\n",
        "tiny period, huge onset": b"name: p\nbackend: paddle\nstates:\n  left_hip:\n"
        b"  - {electrodes: [1], amplitude_ma: 2, pulse_width_us: 300, frequency_hz: 40,"
        b" onset_ms: 1000000, duration_ms: 0.005, period_ms: 0.01}\n",
        "70000 steps": b"name: p\nbackend: paddle\nstates:\n  rest:\n"
        + b"  - {electrodes: [1], amplitude_ma: 1, pulse_width_us: 300, frequency_hz: 40}\n"
        * 70000,
        "not utf-8": b"\xff\xfe\x00\x01",
        "empty": b"",
    }
    hostile_numbers = [0.01, 1e-300, 1e308, -1.0, 10**15, 599_999.9, 0, "1e6", None, True]
    keys = [
        "amplitude_ma",
        "pulse_width_us",
        "frequency_hz",
        "onset_ms",
        "duration_ms",
        "period_ms",
        "interphase_gap_us",
        "electrodes",
    ]

    def check(text: bytes) -> None:
        program = program_from_data(load_yaml(text, source="case.yaml"), source="case.yaml")
        validate_program(program)

    for name, text in fixed.items():
        ok, detail = _guarded(lambda text=text: check(text))
        yield name, ok, detail
    base = yaml.safe_load(walking)
    for k in range(n):
        data = json.loads(json.dumps(base))
        state = str(rng.choice(list(data["states"])))
        step = data["states"][state][0]
        step[str(rng.choice(keys))] = hostile_numbers[int(rng.integers(len(hostile_numbers)))]
        text = yaml.safe_dump(data).encode()
        if k % 3 == 1:  # truncated
            text = text[: int(rng.integers(len(text)))]
        elif k % 3 == 2:  # junk inserted
            at = int(rng.integers(len(text)))
            text = text[:at] + rng.bytes(int(rng.integers(1, 30))) + text[at:]
        ok, detail = _guarded(lambda text=text: check(text))
        yield f"mutated program {k}", ok, detail


def _mangled(data: bytes, rng: np.random.Generator, flips: int) -> bytes:
    out = bytearray(data)
    for _ in range(flips):
        out[int(rng.integers(len(out)))] ^= 1 << int(rng.integers(8))
    return bytes(out)


def _hostile_files(
    original: bytes,
    suffix: str,
    verify: Callable[[Path], dict],
    rng: np.random.Generator,
    n: int,
    work: Path,
) -> Iterator[tuple[str, bool, str]]:
    for k in range(n):
        mode = k % 3
        if mode == 0:
            data = _mangled(original, rng, int(rng.integers(1, 32)))
        elif mode == 1:
            data = original[: int(rng.integers(len(original)))]
        else:
            data = rng.bytes(int(rng.integers(0, 4096)))
        path = work / f"case{suffix}"
        path.write_bytes(data)
        verdict: dict = {}

        def run(path: Path = path, verdict: dict = verdict) -> None:
            verdict.update(verify(path))

        ok, detail = _guarded(run)
        if ok and verdict and verdict.get("ok") and data != original:
            ok, detail = bool(mode == 0), "a mangled file verified ok"  # flips in padding
        yield f"{('flipped', 'truncated', 'random')[mode]} {k}", ok, detail
        path.unlink(missing_ok=True)


def _cli_cases(work: Path, log: Path, nwb: Path) -> list[tuple[str, list[str], bool]]:
    """(name, argv, prints JSON) for absurd values and hostile files."""
    hostile = work / "hostile.yaml"
    hostile.write_bytes(
        b"name: p\nbackend: paddle\nstates:\n  left_hip:\n  - {electrodes: [1], amplitude_ma: 2,"
        b" pulse_width_us: 300, frequency_hz: 40, onset_ms: 1000000, duration_ms: 0.005,"
        b" period_ms: 0.01}\n"
    )
    bomb = work / "bomb.yaml"
    bomb.write_bytes(b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n")
    dup = work / "dup.yaml"
    dup.write_bytes(b"name: p\nname: q\nbackend: paddle\nstates: {}\n")
    existing = work / "existing.nwb"
    shutil.copyfile(nwb, existing)
    return [
        ("bench decode --channels 20000", ["bench", "decode", "--channels", "20000"], False),
        ("session --seed -1", ["session", "--seed", "-1", "--json"], True),
        ("demo --seconds 1e12", ["demo", "--seconds", "1e12", "--json"], True),
        ("demo --seconds nan", ["demo", "--seconds", "nan"], False),
        ("bench safety --cases 1e9", ["bench", "safety", "--cases", "1000000000"], False),
        ("session --out ''", ["session", "--out", "", "--json"], True),
        (
            "patient simulate --seconds inf",
            ["patient", "simulate", "--out", str(work / "x.nwb"), "--seconds", "inf"],
            False,
        ),
        ("program validate tiny period", ["program", "validate", str(hostile), "--json"], True),
        ("program validate alias bomb", ["program", "validate", str(bomb), "--json"], True),
        ("program show duplicate keys", ["program", "show", str(dup), "--json"], True),
        ("session --program alias bomb", ["session", "--program", str(bomb), "--json"], True),
        ("recording verify missing", ["recording", "verify", str(work / "no.nwb"), "--json"], True),
        (
            "recover onto an existing file",
            ["recording", "recover", str(log), "--out", str(existing), "--json"],
            True,
        ),
        ("bench latency --channels 0", ["bench", "latency", "--channels", "0"], False),
        ("demo --calibration-s -5", ["demo", "--calibration-s", "-5"], False),
        (
            "export-bids --line-freq 0",
            [
                "recording",
                "export-bids",
                str(nwb),
                "--root",
                str(work / "bids"),
                "--line-freq",
                "0",
            ],
            False,
        ),
        ("decode calibrate --out a folder", ["decode", "calibrate", "--out", str(work)], False),
        ("session --sex X", ["session", "--sex", "X", "--json"], True),
        ("session --age forty", ["session", "--age", "forty", "--json"], True),
    ]


def _hostile_cli(work: Path, log: Path, nwb: Path) -> Iterator[tuple[str, bool, str]]:
    env = child_env(PYTHONWARNINGS="ignore")
    for name, argv, prints_json in _cli_cases(work, log, nwb):
        try:
            done = subprocess.run(
                [*OPENBSI, *argv],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=work,
                env=env,
            )
        except subprocess.TimeoutExpired:
            yield name, False, "hang (> 120 s)"
            continue
        problems = []
        if done.returncode == 0:
            problems.append("exit 0")
        if "Traceback" in done.stderr:
            problems.append("traceback")
        if prints_json:
            try:
                if not isinstance(json.loads(done.stdout.strip().splitlines()[-1]), dict):
                    problems.append("stdout is not a JSON object")
            except (json.JSONDecodeError, IndexError):
                problems.append("no JSON verdict on stdout")
        yield name, not problems, "; ".join(problems) + " | " + done.stderr.strip()[-160:]
    stray = [
        p
        for p in (work.parent / f"{work.name}.tmp", work.parent / f"{work.name}.png")
        if p.exists()
    ]
    yield "no stray files beside --out folders", not stray, str(stray)


def run_integrity(cases: int = 60, signals: int = 0, seed: int = 0, quick: bool = False) -> dict:
    """Tamper and hostile-input suites: what `verify` and the loaders caught, per class."""
    from openbsi.store.nwb import log_to_nwb
    from openbsi.store.synthetic import record_synthetic_session
    from openbsi.store.tamper import tamper_log, tamper_nwb
    from openbsi.store.verify import verify_log, verify_nwb, verify_recording

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(seed)
    result: dict = {"classes": {}, "load": load_average()}
    classes = result["classes"]
    with tempfile.TemporaryDirectory(prefix="openbsi-integrity-") as tmp:
        work = Path(tmp)
        rec = record_synthetic_session(work / "run", rng, seconds=2.0, n_channels=4)
        nwb = log_to_nwb(rec.log_path, work / "run" / "recording.nwb")

        def outcomes(items) -> Iterator[tuple[str, bool, str]]:
            for o in items:
                yield o.target, o.caught, "; ".join(o.problems)

        classes["tamper.log"] = _tally(outcomes(tamper_log(rec.log_path, work / "t", verify_log)))
        if not quick:
            classes["tamper.nwb"] = _tally(outcomes(tamper_nwb(nwb, work / "t", verify_nwb)))
        torn = work / "torn"
        torn.mkdir()
        (torn / "session.obsilog").write_bytes(rec.log_path.read_bytes()[:-200])
        recovered = log_to_nwb(torn / "session.obsilog", torn / "recovered.nwb")
        verdicts = [verify_recording(p) for p in (torn / "session.obsilog", recovered)]
        classes["recovered"] = _tally(
            iter(
                [
                    (str(p.name), bool(v["recovered"] and not v["ok"]), str(v["problems"][:2]))
                    for p, v in zip((torn / "session.obsilog", recovered), verdicts, strict=True)
                ]
            )
        )
        classes["hostile.programs"] = _tally(_hostile_programs(rng, cases))
        files = work / "files"
        files.mkdir()
        classes["hostile.logs"] = _tally(
            _hostile_files(rec.log_path.read_bytes(), ".obsilog", verify_log, rng, cases, files)
        )
        classes["hostile.recordings"] = _tally(
            _hostile_files(nwb.read_bytes(), ".nwb", verify_nwb, rng, max(cases // 3, 1), files)
        )
        if not quick:
            cli = work / "cli"
            cli.mkdir()
            classes["hostile.cli"] = _tally(_hostile_cli(cli, rec.log_path, nwb))
        if signals:
            classes["signals"] = _signal_class(work, signals, rng)
    result["missed"] = sum(c["missed"] for c in classes.values())
    result["ok"] = result["missed"] == 0
    return result


def _signal_class(work: Path, runs: int, rng: np.random.Generator) -> dict:
    from openbsi.runtime.clock import SimulatedClock
    from openbsi.runtime.live_session import LiveSessionConfig, run_live_session
    from openbsi.runtime.signal_drill import drill

    calibration = work / "calibration"
    run_live_session(
        LiveSessionConfig(out_dir=calibration, seconds=1.0, calibration_s=30.0, body="reduced"),
        clock=SimulatedClock(),
    )
    results = drill(calibration / "model.obsi", work / "signals", runs=runs, rng=rng)

    def judged() -> Iterator[tuple[str, bool, str]]:
        for r in results:
            late = r.get("last_pulse_after_signal_s")
            ok = bool(r["complete"] and r.get("exit_code_ok") and (late is None or late <= 1.0))
            yield f"{r['signal']} at {r.get('after_s')} s", ok, json.dumps(r)[:200]

    tally = _tally(judged())
    lates = [r["last_pulse_after_signal_s"] for r in results if r.get("last_pulse_after_signal_s")]
    tally["last_pulse_after_signal_s_max"] = max(lates) if lates else None
    return tally
