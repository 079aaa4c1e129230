"""`openbsi patient profiles|simulate|recruitment|figures`."""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from openbsi.bench.patient import pair_electrodes as _pair_electrodes
from openbsi.bench.patient import stepping as _stepping
from openbsi.cli import metadata_options as meta
from openbsi.cli.apps import SEED_MAX, UserError, console, in_range, patient_app
from openbsi.patient.profiles import DEFAULT_PROFILE, PROFILES, get_profile

SCRIPTS = ("walking", "calibration", "rest")


@patient_app.command("profiles")
def profiles(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """List the named virtual patients."""
    rows = [
        {
            "name": p.name,
            "default": p.name == DEFAULT_PROFILE,
            "description": p.description,
            "level": p.lesion.level,
            "ais": p.lesion.ais,
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
        table.add_row(
            name,
            r["level"],
            r["ais"],
            f"{r['spared_fraction']:.2f}",
            f"{r['body_weight_support']:.0%}",
            r["description"],
        )
    console.print(table)


@patient_app.command("recruitment")
def recruitment(
    profile: Annotated[str, typer.Option("--profile", help="profile name")] = DEFAULT_PROFILE,
    stimulator: Annotated[
        str, typer.Option("--stimulator", help="paddle | nodes | transcutaneous (lumbar)")
    ] = "paddle",
    side: Annotated[str, typer.Option("--side", help="left or right roots")] = "left",
    pulse_width_us: Annotated[
        float | None, typer.Option("--pulse-width-us", help="default: 300 (1000 transcutaneous)")
    ] = None,
    max_ma: Annotated[
        float | None, typer.Option("--max-ma", help="largest amplitude (default: the device's)")
    ] = None,
    points: Annotated[int, in_range("--points", low=2, high=1000, help="amplitudes sampled")] = 41,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Recruitment of Ia, group II and motor fibres per root vs amplitude, for one path."""
    from openbsi.patient.paths import PATHS, path_recruitment_curves, root_coupling
    from openbsi.runtime.stim_paths import stim_path

    if stimulator not in PATHS:
        raise UserError(f"--stimulator must be one of {PATHS}, got {stimulator!r}")
    path = stim_path(stimulator)
    device_max = {"paddle": 20.0, "nodes": 1.5, "transcutaneous": 120.0}[stimulator]
    max_ma = device_max if max_ma is None else max_ma
    pw = (
        (1000.0 if stimulator == "transcutaneous" else 300.0)
        if pulse_width_us is None
        else pulse_width_us
    )
    if not 2 <= points <= 1000:
        raise UserError(f"--points must be in [2, 1000], got {points}")
    if not 0 < max_ma <= 200:
        raise UserError(f"--max-ma must be in (0, 200] mA, got {max_ma}")
    if not 10 <= pw <= 2000:
        raise UserError(f"--pulse-width-us must be in [10, 2000], got {pw}")
    p = get_profile(profile)
    amp = np.linspace(0.0, max_ma, points)
    coupling = root_coupling(stimulator, path.electrodes, path.placements)
    curves = path_recruitment_curves(
        amp,
        coupling,
        path.electrodes,
        side=side,
        pulse_width_us=pw,
        threshold_scale=p.spinal.threshold_scale,
    )
    roots = {
        root: {
            "electrode": c["electrode"],
            "amplitude_ma": amp.round(4).tolist(),
            **{f: np.round(c[f], 5).tolist() for f in ("Ia", "II", "motor")},
        }
        for root, c in curves.items()
    }
    if as_json:
        payload = {
            "profile": p.name,
            "stimulator": stimulator,
            "side": side,
            "pulse_width_us": pw,
            "roots": roots,
        }
        typer.echo(json.dumps(payload))
        return
    table = Table(title=f"recruitment onsets (5 %), {p.name}, {stimulator}, {side} roots, {pw} us")
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
    from openbsi.safety.program_check import load_valid_program
    from openbsi.safety.supervisor import SafetySupervisor
    from openbsi.stimulation.backends.virtual import VirtualStimulator
    from openbsi.stimulation.mapper import Mapper

    if not program_path.exists():
        raise UserError(f"--program must name an existing program file, got {program_path}")
    program = load_valid_program(program_path, backend="paddle", electrodes=electrodes)
    mapper = Mapper(program, electrodes)
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
    seconds: Annotated[
        float, in_range("--seconds", low=1.0, high=86400.0, help="simulated s")
    ] = 30.0,
    program: Annotated[
        Path | None,
        typer.Option(
            "--program", help="stimulation program (YAML), driven by the cue (ideal decoder)"
        ),
    ] = None,
    script: Annotated[str, typer.Option("--script", help="walking, calibration or rest")] = (
        "walking"
    ),
    body: Annotated[str, typer.Option("--body", help="reduced or mujoco")] = "reduced",
    seed: Annotated[int, in_range("--seed", low=0, high=SEED_MAX)] = 0,
    day: Annotated[
        int, in_range("--day", low=0, high=3650, help="days since calibration (tuning drift)")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    metadata: meta.MetadataFile = None,
    subject_id: meta.SubjectId = None,
    sex: meta.Sex = None,
    age: meta.Age = None,
    date_of_birth: meta.DateOfBirth = None,
    species: meta.Species = None,
    experimenter: meta.Experimenter = None,
    institution: meta.Institution = None,
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
    subject, study = meta.collect(
        metadata, subject_id, sex, age, date_of_birth, species, experimenter, institution
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    rng_script, rng_patient = np.random.default_rng(seed).spawn(2)
    intent = _script(script, seconds, rng_script)
    if not 0 <= day <= 3650:
        raise UserError(f"--day must be in [0, 3650], got {day}")
    patient = VirtualPatient(
        intent, rng_patient, profile=get_profile(profile), electrodes=PADDLE_16, body=body, day=day
    )
    source = None if program is None else _program_source(program, intent, PADDLE_16)
    result = run_patient(patient, intent.duration_s, pulse_source=source)
    assert result.ecog_uv is not None
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".patient-sim-") as tmp:
        rec = SessionRecorder(
            Path(tmp),
            patient.info,
            description="openbsi patient simulate",
            meta={
                "profile": profile,
                "seed": seed,
                "script": script,
                "program": str(program) if program else "",
                "body": body,
                "day": day,
            },
            subject=subject,
            study=study,
        )
        _record(rec, patient, intent, result)
        rec.close()
        log_to_nwb(rec.path, out)
    summary = asdict(patient.gait_summary())
    payload = {
        "nwb": str(out),
        "profile": profile,
        "simulated_s": result.duration_s,
        "pulses": len(result.pulses),
        "gait": summary,
    }
    if as_json:
        typer.echo(json.dumps(payload))
        return
    console.print(
        f"wrote {out}: {result.duration_s:.1f} s, {len(result.pulses)} pulses, "
        f"{summary['steps']} steps ({summary['failed_steps']} failed), "
        f"step length {summary['step_length_m']:.2f} m"
    )


def _record(rec, patient, intent, result) -> None:
    fs = patient.info.sfreq_hz
    tick = round(0.1 * fs)
    ecog = result.ecog_uv
    for first in range(0, ecog.shape[1], tick):
        rec.ecog(ecog[:, first : first + tick], first / fs, round(first / fs * 1e9))
    for block in intent.blocks:
        rec.intent(block.start_s, block.stop_s, block.state, block.amplitude)
    rec.stimulation_electrodes([asdict(e) for e in patient.electrodes])
    if result.pulses:
        p = result.pulses
        rec.pulses(
            np.array([x.t_ns for x in p]) / 1e9,
            np.array([x.electrode for x in p]),
            np.array([x.amplitude_ma for x in p]),
            np.array([x.pulse_width_us for x in p]),
        )
    for step in patient.step_events():
        rec.gait_event(step.t_s, step.side, step.length_m, step.clearance_m, step.failed)
    trace = patient.trace()
    rec.kinematics(trace["t_s"], {k: v for k, v in trace.items() if k != "t_s"})


# ---------------------------------------------------------------------------------------------
# Validation figures (docs/virtual-patient.md); analysis uses scipy.signal.welch, not generator
# code.


def _ratio(move: np.ndarray, rest: np.ndarray, band: np.ndarray) -> float:
    return float(np.median(move[:, band].mean(axis=1) / rest[:, band].mean(axis=1)))


def _fig_spectra(plt, out: Path, rng: np.random.Generator) -> dict:
    from scipy import signal

    from openbsi.patient.cortex import VirtualCortex
    from openbsi.patient.intent import IntentBlock, IntentScript

    fs = 586.0
    script = IntentScript((IntentBlock(0, 60, "rest", 0.0), IntentBlock(60, 120, "left_knee", 1.0)))
    cortex = VirtualCortex(script, rng)
    x = cortex.read(int(120 * fs))
    f, rest = signal.welch(x[:, int(2 * fs) : int(60 * fs)], fs=fs, nperseg=1024)
    _, move = signal.welch(x[:, int(62 * fs) :], fs=fs, nperseg=1024)
    tuned = [i for i, m in enumerate(cortex.info.channel_meta) if m["tuned_to"] == "left_knee"]
    mean = rest.mean(axis=0)

    def slope(lo: float, hi: float) -> float:
        sel = (f >= lo) & (f <= hi)
        return float(np.polyfit(np.log10(f[sel]), np.log10(mean[sel]), 1)[0])

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].loglog(f[1:], mean[1:], label="all channels, rest")
    ax[0].set(
        xlabel="Hz",
        ylabel="uV^2/Hz",
        title=f"slope 3-10 Hz {slope(3, 10):.1f}, 100-200 Hz {slope(100, 200):.1f}",
    )
    ax[0].axvline(70, ls="--", c="gray")
    ax[1].loglog(f[1:], rest[tuned].mean(axis=0)[1:], label="rest")
    ax[1].loglog(f[1:], move[tuned].mean(axis=0)[1:], label="left knee")
    ax[1].set(xlabel="Hz", title=f"{len(tuned)} contacts tuned to left knee")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(out / "patient_spectra.png", dpi=110)
    plt.close(fig)
    hg, beta = (f >= 70) & (f <= 150), (f >= 13) & (f <= 30)
    return {
        "slope_3_10": slope(3, 10),
        "slope_100_200": slope(100, 200),
        "hg_ratio_median": _ratio(move[tuned], rest[tuned], hg),
        "beta_ratio_median": _ratio(move[tuned], rest[tuned], beta),
    }


def _fig_tuning(plt, out: Path, rng: np.random.Generator) -> None:
    from openbsi.patient.cortex import VirtualCortex
    from openbsi.patient.intent import IntentBlock, IntentScript
    from openbsi.states import STATES

    cortex = VirtualCortex(IntentScript((IntentBlock(0, 1, "rest", 0.0),)), rng)
    fig, ax = plt.subplots(figsize=(8, 3))
    colors = {s: plt.cm.tab10(i) for i, s in enumerate(STATES)}
    for m in cortex.info.channel_meta:
        c = colors[m["tuned_to"]] if m["tuned_to"] else (0.85, 0.85, 0.85, 1.0)
        ax.scatter(m["x_mm"], m["y_mm"], color=c, s=80)
    for s in STATES[1:]:
        ax.scatter([], [], color=colors[s], label=s)
    ax.axvline(0, c="k", lw=0.5)
    ax.set(
        xlabel="mediolateral mm (left hemisphere < 0 < right)",
        ylabel="rostrocaudal mm",
        title="contact tuning (high-gamma), bsi-walker",
    )
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    fig.tight_layout()
    fig.savefig(out / "patient_tuning.png", dpi=110)
    plt.close(fig)


def _fig_recruitment(plt, out: Path) -> None:
    from openbsi.patient.spinal import layout_recruitment_curves
    from openbsi.stimulation.electrodes import PADDLE_16

    amp = np.linspace(0, 20, 201)
    curves = layout_recruitment_curves(amp, PADDLE_16)
    fig, axes = plt.subplots(1, len(curves), figsize=(14, 2.8), sharey=True)
    for ax, (root, c) in zip(axes, curves.items(), strict=True):
        for fibre in ("Ia", "II", "motor"):
            ax.plot(amp, c[fibre], label=fibre)
        ax.set(title=f"{root} via {c['electrode']}", xlabel="mA")
    axes[0].set_ylabel("fraction recruited")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "patient_recruitment.png", dpi=110)
    plt.close(fig)


def _fig_gait(plt, out: Path, rng: np.random.Generator, body: str = "reduced") -> dict:
    """AIS A patient, 12 s: no stimulation; L1 hip trains alone; the stepping schedule."""
    from openbsi.patient.intent import IntentBlock, IntentScript
    from openbsi.patient.session import alternating_hip_schedule, run_patient, train_source
    from openbsi.patient.virtual import VirtualPatient
    from openbsi.stimulation.electrodes import PADDLE_16, find_electrode

    seconds = 12.0
    script = IntentScript((IntentBlock(0, seconds, "rest", 0.0),))
    pairs = _pair_electrodes(PADDLE_16, find_electrode)
    runs = {
        "no_stimulation": ("no stimulation", None),
        "hip_trains": ("L1 trains", alternating_hip_schedule(seconds, *pairs["L1"])),
        "stimulated": ("S1 push-off, L1 swing, L3 stance", _stepping(seconds, pairs)),
    }
    result = {}
    fig, axes = plt.subplots(4, len(runs), figsize=(15, 8), sharex=True)
    for col, (key, (label, schedule)) in enumerate(runs.items()):
        vp = VirtualPatient(script, rng, profile="complete-thoracic", body=body)
        source = train_source(schedule) if schedule else None
        run_patient(vp, seconds, pulse_source=source, keep_ecog=False)
        tr = vp.trace()
        summary = vp.gait_summary()
        result[key] = summary.__dict__
        for side in ("left", "right"):
            axes[0, col].plot(tr["t_s"], tr[f"{side}_hip_rad"], label=f"{side} hip")
            axes[1, col].plot(tr["t_s"], tr[f"{side}_knee_rad"], label=f"{side} knee")
            axes[2, col].plot(tr["t_s"], tr[f"{side}_foot_height_m"], label=f"{side} foot")
            axes[3, col].plot(tr["t_s"], tr[f"emg_{side}_iliopsoas"], label=f"{side} iliopsoas")
        for ev in vp.step_events():
            axes[2, col].axvline(ev.t_s, c="r" if ev.failed else "g", lw=0.8)
        axes[2, col].axhline(0.10, c="gray", ls=":")
        axes[0, col].set_title(
            f"{body}, {label}: {summary.steps} steps, {summary.failed_steps} failed", fontsize=9
        )
        for ax, unit in zip(axes[:, col], ("rad", "rad", "m", "EMG"), strict=True):
            ax.set_ylabel(unit)
            ax.legend(fontsize=7)
        axes[3, col].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(
        out / ("patient_gait.png" if body == "reduced" else f"patient_gait_{body}.png"), dpi=110
    )
    plt.close(fig)
    return result


def _program_gait(program: Path, seed: int) -> dict:
    """The walking program driven by the cue (ideal decoder), bsi-walker, 60 s walking script,
    on both bodies: what `openbsi patient simulate --program` reports."""
    from openbsi.patient.session import run_patient
    from openbsi.patient.virtual import VirtualPatient
    from openbsi.stimulation.electrodes import PADDLE_16

    out = {}
    for body in ("reduced", "mujoco"):
        rng_script, rng_patient = np.random.default_rng(seed).spawn(2)
        script = _script("walking", 60.0, rng_script)
        vp = VirtualPatient(script, rng_patient, body=body)
        source = _program_source(program, script, PADDLE_16)
        run_patient(vp, script.duration_s, pulse_source=source, keep_ecog=False)
        out[body] = vp.gait_summary().__dict__
    return out


def _fig_collision(plt, out: Path) -> None:
    from openbsi.patient.proprioception import erased_fraction

    f = np.linspace(0, 100, 201)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for conduction, label in ((0.016, "human (16 ms)"), (0.002, "rat (2 ms)")):
        for r in (1.0, 0.5):
            ax.plot(
                f,
                erased_fraction(f, r, conduction_s=conduction),
                label=f"{label}, {int(r * 100)} % recruited",
            )
    ax.set(
        xlabel="EES frequency (Hz)",
        ylabel="natural Ia spikes erased",
        title="antidromic collision (Formento 2018)",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "patient_collision.png", dpi=110)
    plt.close(fig)


def _fig_evoked(plt, out: Path, seed: int) -> dict:
    from scipy import signal

    from openbsi.patient.intent import IntentBlock, IntentScript
    from openbsi.patient.session import run_patient, train_source
    from openbsi.patient.virtual import VirtualPatient
    from openbsi.stimulation.electrodes import PADDLE_16, find_electrode

    fs, seconds = 586.0, 82.0
    script = IntentScript((IntentBlock(0, seconds, "rest", 0.0),))
    onsets = np.arange(1.0, seconds - 1.0, 0.5)
    left_l3 = find_electrode(PADDLE_16, "left", "L3").index
    schedule = [(t, t + 0.001, left_l3, 6.0) for t in onsets]
    patient = VirtualPatient(script, np.random.default_rng(seed))
    stim = run_patient(patient, seconds, pulse_source=train_source(schedule))
    assert stim.ecog_uv is not None
    # Standard evoked-potential filtering (3-40 Hz, zero phase) of the raw ECoG.
    raw = signal.sosfiltfilt(
        signal.butter(2, (3.0, 40.0), "bandpass", fs=fs, output="sos"), stim.ecog_uv, axis=1
    )
    lags = np.arange(int(-0.05 * fs), int(0.3 * fs))
    groups = np.array([m["group"] for m in patient.info.channel_meta])
    medial = np.array([abs(m["x_mm"]) <= 10.0 for m in patient.info.channel_meta])
    fig, ax = plt.subplots(figsize=(6, 3.2))
    result = {}
    for hemi in ("right", "left"):
        chans = (groups == hemi) & medial
        epochs = np.array([raw[chans][:, round(t * fs) + lags] for t in onsets])
        mean = epochs.mean(axis=(0, 1))
        ax.plot(lags / fs * 1e3, mean, label=f"{hemi} hemisphere, medial contacts")
        late = lags > int(0.05 * fs)
        result[f"{hemi}_trough_ms"] = float(lags[late][np.argmin(mean[late])] / fs * 1e3)
    ax.axvspan(90, 170, color="gray", alpha=0.2, label="90-170 ms (Wagner 2018)")
    ax.set(
        xlabel="ms after pulse (left L3, 6 mA, 2 Hz)",
        ylabel="uV",
        title=f"evoked response, {len(onsets)} pulses (ECoG, 3-40 Hz)",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "patient_evoked.png", dpi=110)
    plt.close(fig)
    return result


@patient_app.command("figures")
def figures(
    out: Annotated[Path, typer.Option("--out", help="folder for the PNG files")] = Path("docs/img"),
    seed: Annotated[int, in_range("--seed", low=0, high=SEED_MAX)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Draw the validation figures of docs/virtual-patient.md and print the measured values."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from openbsi.stimulation.examples import WALKING_PROGRAM_FILE

    out.mkdir(parents=True, exist_ok=True)
    rngs = np.random.default_rng(seed).spawn(4)
    values = {"spectra": _fig_spectra(plt, out, rngs[0])}
    _fig_tuning(plt, out, rngs[1])
    _fig_recruitment(plt, out)
    values["gait"] = _fig_gait(plt, out, rngs[2])
    values["gait_mujoco"] = _fig_gait(plt, out, rngs[3], body="mujoco")
    _fig_collision(plt, out)
    values["evoked"] = _fig_evoked(plt, out, seed)
    values["walking_program"] = _program_gait(WALKING_PROGRAM_FILE, seed)
    if as_json:
        typer.echo(json.dumps(values))
        return
    console.print(f"figures written to {out}")
    console.print_json(json.dumps(values))
