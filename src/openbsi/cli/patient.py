"""`openbsi patient profiles|simulate|recruitment` and `openbsi bench patient`."""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from openbsi.cli.apps import UserError, bench_app, console, patient_app
from openbsi.patient.profiles import DEFAULT_PROFILE, PROFILES, get_profile

SCRIPTS = ("walking", "calibration", "rest")


@patient_app.command("profiles")
def profiles(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """List the named virtual patients."""
    rows = [
        {
            "name": p.name, "default": p.name == DEFAULT_PROFILE, "description": p.description,
            "level": p.lesion.level, "ais": p.lesion.ais,
            "spared_fraction": p.lesion.descending_fraction,
            "body_weight_support": p.body.body_weight_support,
            "belt_speed_m_s": p.body.belt_speed_m_s,
        }
        for p in PROFILES.values()
    ]
    if as_json:
        typer.echo(json.dumps({"default": DEFAULT_PROFILE, "profiles": rows}))
        return
    table = Table(title="virtual patients")
    for col in ("name", "level", "AIS", "spared", "BWS", "description"):
        table.add_column(col)
    for r in rows:
        name = r["name"] + (" (default)" if r["default"] else "")
        table.add_row(name, r["level"], r["ais"], f"{r['spared_fraction']:.2f}",
                      f"{r['body_weight_support']:.0%}", r["description"])
    console.print(table)


@patient_app.command("recruitment")
def recruitment(
    profile: Annotated[str, typer.Option("--profile", help="profile name")] = DEFAULT_PROFILE,
    side: Annotated[str, typer.Option("--side", help="left or right roots")] = "left",
    pulse_width_us: Annotated[float, typer.Option("--pulse-width-us")] = 300.0,
    max_ma: Annotated[float, typer.Option("--max-ma", help="largest amplitude")] = 20.0,
    points: Annotated[int, typer.Option("--points", help="amplitudes sampled")] = 41,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Recruitment of Ia, group II and motor fibres per root vs amplitude (paddle contacts)."""
    from openbsi.patient.spinal import layout_recruitment_curves
    from openbsi.stimulation.electrodes import PADDLE_16

    if not 2 <= points <= 1000:
        raise UserError(f"--points must be in [2, 1000], got {points}")
    if not 0 < max_ma <= 100:
        raise UserError(f"--max-ma must be in (0, 100] mA, got {max_ma}")
    p = get_profile(profile)
    amp = np.linspace(0.0, max_ma, points)
    curves = layout_recruitment_curves(
        amp, PADDLE_16, side=side, pulse_width_us=pulse_width_us,
        threshold_scale=p.spinal.threshold_scale,
    )
    roots = {
        root: {"electrode": c["electrode"], "amplitude_ma": amp.round(4).tolist(),
               **{f: np.round(c[f], 5).tolist() for f in ("Ia", "II", "motor")}}
        for root, c in curves.items()
    }
    if as_json:
        typer.echo(json.dumps({"profile": p.name, "side": side, "pulse_width_us": pulse_width_us,
                               "roots": roots}))
        return
    table = Table(title=f"recruitment onsets (5 %), {p.name}, {side} roots, {pulse_width_us} us")
    for col in ("root", "contact", "Ia mA", "II mA", "motor mA"):
        table.add_column(col)
    for root, c in roots.items():
        def onset(values: list[float]) -> str:
            above = np.flatnonzero(np.asarray(values) >= 0.05)
            return f"{amp[above[0]]:.2f}" if above.size else f"> {max_ma}"
        table.add_row(root, c["electrode"], onset(c["Ia"]), onset(c["II"]), onset(c["motor"]))
    console.print(table)


def _script(kind: str, seconds: float, rng: np.random.Generator):
    from openbsi.patient.intent import (
        IntentBlock,
        IntentScript,
        cued_calibration_script,
        walking_script,
    )

    if kind == "walking":
        return walking_script(seconds, rng)
    if kind == "calibration":
        return cued_calibration_script(seconds, rng)
    if kind == "rest":
        return IntentScript((IntentBlock(0.0, seconds, "rest", 0.0),))
    raise UserError(f"--script must be one of {SCRIPTS}, got {kind!r}")


def _program_source(program_path: Path, script, electrodes):
    """Pulses a program delivers when the decoded state equals the cue (an ideal decoder),
    through the safety supervisor and the virtual stimulator, like the real loop."""
    from openbsi.safety.limits import SafetyLimits
    from openbsi.safety.supervisor import SafetySupervisor
    from openbsi.stimulation.backends.virtual import VirtualStimulator
    from openbsi.stimulation.mapper import Mapper
    from openbsi.stimulation.program import load_program

    if not program_path.exists():
        raise UserError(f"--program must name an existing program file, got {program_path}")
    mapper = Mapper(load_program(program_path), electrodes)
    stimulator = VirtualStimulator(SafetySupervisor(SafetyLimits(), electrodes), electrodes)

    def source(t0: float, t1: float):
        now_ns = round(t0 * 1e9)
        command = mapper.map(script.state_at(t0), script.amplitude_at(t0), now_ns)
        stimulator.deliver(command, now_ns)
        return stimulator.run_until(round(t1 * 1e9))

    return source


@patient_app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Option("--out", help="NWB file to write")],
    profile: Annotated[str, typer.Option("--profile", help="profile name")] = DEFAULT_PROFILE,
    seconds: Annotated[float, typer.Option("--seconds", help="simulated s")] = 30.0,
    program: Annotated[Path | None, typer.Option(
        "--program", help="stimulation program (YAML), driven by the cue (ideal decoder)")] = None,
    script: Annotated[str, typer.Option("--script", help="walking, calibration or rest")] = (
        "walking"),
    body: Annotated[str, typer.Option("--body", help="reduced or mujoco")] = "reduced",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Simulate the patient; write ECoG, intent, EMG, joint angles, pulses and steps to NWB."""
    from openbsi.patient.session import run_patient
    from openbsi.patient.virtual import VirtualPatient
    from openbsi.stimulation.electrodes import PADDLE_16
    from openbsi.store.nwb import log_to_nwb
    from openbsi.store.session_log import SessionRecorder

    if not 0 < seconds <= 24 * 3600:
        raise UserError(f"--seconds must be in (0, 86400], got {seconds}")
    if out.suffix != ".nwb":
        raise UserError(f"--out must end in .nwb, got {out}")
    if out.exists():
        raise UserError(f"--out must not exist yet (no overwrite), got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    rng_script, rng_patient = np.random.default_rng(seed).spawn(2)
    intent = _script(script, seconds, rng_script)
    patient = VirtualPatient(intent, rng_patient, profile=get_profile(profile),
                             electrodes=PADDLE_16, body=body)
    source = None if program is None else _program_source(program, intent, PADDLE_16)
    result = run_patient(patient, intent.duration_s, pulse_source=source)
    assert result.ecog_uv is not None
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".patient-sim-") as tmp:
        rec = SessionRecorder(Path(tmp), patient.info, description="openbsi patient simulate",
                              meta={"profile": profile, "seed": seed, "script": script,
                                    "program": str(program) if program else "", "body": body})
        _record(rec, patient, intent, result)
        rec.close()
        log_to_nwb(rec.path, out)
    summary = asdict(patient.gait_summary())
    payload = {"nwb": str(out), "profile": profile, "simulated_s": result.duration_s,
               "pulses": len(result.pulses), "gait": summary}
    if as_json:
        typer.echo(json.dumps(payload))
        return
    console.print(f"wrote {out}: {result.duration_s:.1f} s, {len(result.pulses)} pulses, "
                  f"{summary['steps']} steps ({summary['failed_steps']} failed), "
                  f"step length {summary['step_length_m']:.2f} m")


def _record(rec, patient, intent, result) -> None:
    fs = patient.info.sfreq_hz
    tick = round(0.1 * fs)
    ecog = result.ecog_uv
    for first in range(0, ecog.shape[1], tick):
        rec.ecog(ecog[:, first:first + tick], first / fs, round(first / fs * 1e9))
    for block in intent.blocks:
        rec.intent(block.start_s, block.stop_s, block.state, block.amplitude)
    rec.stimulation_electrodes([asdict(e) for e in patient.electrodes])
    if result.pulses:
        p = result.pulses
        rec.pulses(np.array([x.t_ns for x in p]) / 1e9, np.array([x.electrode for x in p]),
                   np.array([x.amplitude_ma for x in p]), np.array([x.pulse_width_us for x in p]))
    for step in patient.step_events():
        rec.gait_event(step.t_s, step.side, step.length_m, step.clearance_m, step.failed)
    trace = patient.trace()
    rec.kinematics(trace["t_s"], {k: v for k, v in trace.items() if k != "t_s"})


@bench_app.command("patient")
def bench_patient(
    seconds: Annotated[float, typer.Option("--seconds", help="simulated s")] = 60.0,
    profile: Annotated[str, typer.Option("--profile")] = "complete-thoracic",
    body: Annotated[str, typer.Option("--body", help="reduced or mujoco")] = "reduced",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Whole-patient speed (cortex + spinal cord + body) under alternating hip trains."""
    from openbsi.patient.intent import walking_script
    from openbsi.patient.session import alternating_hip_schedule, run_patient, train_source
    from openbsi.patient.virtual import VirtualPatient
    from openbsi.stimulation.electrodes import PADDLE_16, find_electrode

    if not 0 < seconds <= 3600:
        raise UserError(f"--seconds must be in (0, 3600], got {seconds}")
    rng_script, rng_patient = np.random.default_rng(seed).spawn(2)
    script = walking_script(seconds, rng_script)
    patient = VirtualPatient(script, rng_patient, profile=profile, body=body)
    schedule = alternating_hip_schedule(
        seconds, find_electrode(PADDLE_16, "left", "L1").index,
        find_electrode(PADDLE_16, "right", "L1").index,
    )
    result = run_patient(patient, seconds, pulse_source=train_source(schedule), keep_ecog=False)
    wall = result.total_wall_s
    parts = [{"name": name, "wall_s": round(w, 4),
              "realtime_factor": round(result.duration_s / w, 1) if w > 0 else None}
             for name, w in result.wall_s.items()]
    payload = {"simulated_s": result.duration_s, "wall_s": round(wall, 4),
               "realtime_factor": round(result.duration_s / wall, 1), "parts": parts,
               "cpu_s": round(result.cpu_s, 4),
               "cpu_realtime_factor": round(result.duration_s / max(result.cpu_s, 1e-9), 1),
               "body": body, "profile": profile, "steps": patient.gait_summary().steps,
               "channels": patient.info.n_channels, "fs_hz": patient.info.sfreq_hz}
    if as_json:
        typer.echo(json.dumps(payload))
        return
    console.print(f"{result.duration_s:.0f} s simulated in {wall:.2f} s: "
                  f"{payload['realtime_factor']}x real time ({body} body); CPU time "
                  f"{result.cpu_s:.2f} s ({payload['cpu_realtime_factor']}x)")
    for part in parts:
        console.print(f"  {part['name']}: {part['wall_s']} s ({part['realtime_factor']}x)")
