"""`openbsi recovery natural-history|simulate|session`, `openbsi therapy list|show`."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from openbsi.cli.apps import UserError, app, console
from openbsi.inputs import InputError

recovery_app = typer.Typer(help="A patient's course over weeks to years.", no_args_is_help=True)
therapy_app = typer.Typer(help="Registered therapies and their parameters.", no_args_is_help=True)
app.add_typer(recovery_app, name="recovery")
app.add_typer(therapy_app, name="therapy")

JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object")]


def _clean(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, nan to null."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fail(error: Exception, as_json: bool) -> None:
    """Bad input: with --json a verdict object on stdout, else one line on stderr; exit 2."""
    if as_json:
        typer.echo(json.dumps({"ok": False, "error": str(error)}))
        raise typer.Exit(2)
    raise error


def _positive(value: int, option: str, high: int) -> int:
    if not 1 <= value <= high:
        raise InputError(option, "value", "out of range", limit=f"[1, {high}]", value=value)
    return value


@recovery_app.command("natural-history")
def natural_history(
    n: Annotated[int, typer.Option("--n", help="patients")] = 2000,
    months: Annotated[int, typer.Option("--months", help="months after injury")] = 12,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    figure: Annotated[Path | None, typer.Option("--figure", help="write a PNG here")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A cohort's AIS conversion by grade and level and its motor-score gains (week 4 to
    --months after injury), with the published ranges beside them."""
    from openbsi.recovery.natural_history import run_natural_history, summarise

    try:
        _positive(n, "--n", 100_000)
        _positive(months, "--months", 120)
        if months < 2:
            raise InputError("--months", "value", "must leave time after week 4", limit=">= 2",
                             value=months)  # fmt: skip
        patients, course = run_natural_history(n, months, seed)
    except InputError as error:
        _fail(error, as_json)
        return
    summary = summarise(patients, course, months)
    if figure is not None:
        from openbsi.recovery.figures import natural_history_figure

        natural_history_figure(summary, figure)
    if as_json:
        typer.echo(json.dumps(_clean(summary)))
        return
    table = Table(title=f"AIS at {months} months after injury (n = {n}, from week 4)")
    for col in ("baseline", "n", "A", "B", "C", "D", "E"):
        table.add_column(col, justify="right")
    for g, row in summary["conversion"].items():
        cells = []
        for to in "ABCDE":
            v = row["unchanged"] if to == g else row.get(f"to_{to}")
            cells.append("-" if v is None else f"{v:.1%}")
        table.add_row(g, str(row["n"]), *cells)
    console.print(table)
    pub = summary["published"]
    c = summary["conversion"]
    pr = summary["proportional_recovery"]["ais_d_slope"]
    console.print(
        f"A -> incomplete {c['A']['to_incomplete']:.1%} (published {pub['A_to_incomplete'][0]:.1%}"
        f"-{pub['A_to_incomplete'][1]:.1%}); C -> D {c['C']['to_D']:.1%} (published "
        f"{pub['C_to_D'][0]:.1%}-{pub['C_to_D'][1]:.1%}); D stays D {c['D']['unchanged']:.1%} "
        f"(84-100 %); AIS D proportional slope {pr:.2f} (published 0.59)",
        highlight=False,
    )
    for name in ("uems_gain", "lems_gain"):
        g = summary[name]
        console.print(
            f"{name}: "
            + ", ".join(f"{k} {g[k]['mean']:+.1f}" for k in "ABCD" if g[k]["mean"] is not None),
            highlight=False,
        )


def _percent_list(text: str, option: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"{option} must be comma-separated integers, got {text!r}") from None
    if not values or min(values) < 0 or max(values) > 100:
        raise UserError(f"{option} must list integers in [0, 100], got {text!r}")
    return values


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _writable(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out: cannot create folder {out} ({error.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UserError(f"--out: folder {out} is not writable")
    return out


@recovery_app.command("simulate")
def simulate(
    patient: Annotated[Path, typer.Option("--patient", help="patient YAML")],
    plan: Annotated[Path, typer.Option("--plan", help="plan YAML")],
    weeks: Annotated[int, typer.Option("--weeks", help="length of the course")] = 52,
    out: Annotated[
        Path | None, typer.Option("--out", help="folder for course.json + figure")
    ] = None,
    every_weeks: Annotated[int, typer.Option("--every-weeks", help="assessment interval")] = 4,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """One patient's course: every assessment over time, safety events, assumption share."""
    from openbsi.recovery import simulate_cohort
    from openbsi.recovery.loaders import load_patient, load_plan

    try:
        _positive(weeks, "--weeks", 520)
        _positive(every_weeks, "--every-weeks", 520)
        spec = load_patient(patient)
        course_plan = load_plan(plan)
        days = weeks * 7
        visit_weeks = sorted({*range(0, weeks + 1, every_weeks), weeks})
        course = simulate_cohort([spec], course_plan, days=days,
                                 visit_days=[w * 7 for w in visit_weeks],
                                 rngs=[np.random.default_rng(seed)])  # fmt: skip
    except InputError as error:
        _fail(error, as_json)
        return
    rows = []
    for k, day in enumerate(course.visit_days):
        row: dict[str, Any] = {"week": int(day) // 7, "ais": str(course.ais[0, k])}
        for m, values in course.scores.items():
            row[m] = float(values[0, k])
        rows.append(row)
    result = _clean({
        "patient": spec.patient_id,
        "assessments": rows,
        "events": course.events,
        "assumption_share": course.assumption_share,
    })  # fmt: skip
    if out is not None:
        folder = _writable(out)
        (folder / "course.json").write_text(json.dumps(result, indent=1))
        from openbsi.recovery.figures import course_figure

        course_figure(
            course,
            course_plan,
            folder / "course.png",
            f"{spec.patient_id}: {spec.nli} AIS {spec.ais}",
        )
        result["files"] = [str(folder / "course.json"), str(folder / "course.png")]
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"{spec.patient_id}: {spec.nli} AIS {spec.ais}, {weeks} weeks")
    cols = ("week", "ais", "uems", "lems", "tenmwt_m_s", "sixmwt_m", "wisci", "scim",
            "grassp_strength", "grassp_prehension")  # fmt: skip
    for c in cols:
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(*(_cell(r[c]) for c in cols))
    console.print(table)
    share = result["assumption_share"]
    console.print(f"{len(course.events)} safety events; assumption share of the gain: "
                  f"{'n/a' if share is None else f'{share:.0%}'}", highlight=False)  # fmt: skip


@therapy_app.command("list")
def therapy_list(as_json: JsonOpt = False) -> None:
    """The registered therapies."""
    from openbsi.recovery.therapies.registry import registered

    rows = [{"name": n, "summary": c.summary, "single_event": c.single_event,
             "dose_fields": sorted(c.dose_fields)} for n, c in registered().items()]  # fmt: skip
    if as_json:
        typer.echo(json.dumps({"therapies": rows}))
        return
    table = Table(title="therapies")
    for col in ("name", "summary", "dose fields"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["summary"], ", ".join(r["dose_fields"]))
    console.print(table)


@therapy_app.command("show")
def therapy_show(
    name: Annotated[str, typer.Argument(help="therapy name, or 'model' for natural history")],
    as_json: JsonOpt = False,
) -> None:
    """Every parameter of a therapy: value, unit, plausible range, evidence grade, source."""
    from openbsi.recovery import model_parameters
    from openbsi.recovery.therapies.registry import get_therapy

    try:
        if name == "model":
            infos, doses, summary = model_parameters(), {}, "natural-history model"
        else:
            cls = get_therapy(name, source="therapy show")
            infos, doses, summary = cls().parameters(), cls.dose_fields, cls.summary
    except InputError as error:
        _fail(error, as_json)
        return
    if as_json:
        typer.echo(json.dumps({
            "name": name, "summary": summary,
            "parameters": [dict(vars(i)) for i in infos],
            "dose_fields": {k: vars(f) for k, f in doses.items()},
        }))  # fmt: skip
        return
    console.print(f"[bold]{name}[/bold]: {summary}")
    for i in infos:
        short = i.name.split(".", 1)[1]
        console.print(
            f"  [bold]{short}[/bold] = {i.value:g} {i.unit}  (range {i.low:g}-{i.high:g}; "
            f"grade [cyan]{i.grade}[/cyan])\n      {i.source}",
            highlight=False,
        )
    if doses:
        text = "; ".join(
            f"{k} ({f.unit}, {f.low:g}-{f.high:g}, default {f.default:g})" for k, f in doses.items()
        )
        console.print(f"dose fields: {text}", highlight=False)


@recovery_app.command("session")
def recovery_session(
    patient: Annotated[Path, typer.Argument(help="patient YAML")],
    week: Annotated[int, typer.Option("--week", help="week of the course")] = 12,
    plan: Annotated[Path | None, typer.Option("--plan", help="plan YAML (default: none)")] = None,
    out: Annotated[Path, typer.Option("--out", help="run folder")] = Path("runs/recovery-session"),
    seconds: Annotated[float, typer.Option("--seconds", help="closed loop, s")] = 30.0,
    model: Annotated[Path | None, typer.Option("--model", help="decoder model file")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Zoom from course to session: a real closed-loop session of the patient as it is at
    --week, its measured dose against the surrogate's prediction (within its tolerance)."""
    from openbsi.recovery import Plan
    from openbsi.recovery.loaders import load_patient, load_plan
    from openbsi.recovery.simulate import run_course
    from openbsi.recovery.state import LOWER
    from openbsi.recovery.surrogate import load_surrogate, session_dose

    try:
        _positive(week, "--week", 520)
        spec = load_patient(patient)
        course_plan = load_plan(plan) if plan is not None else Plan()
        days = week * 7
        course, state = run_course([spec], course_plan, days=days, visit_days=[days],
                                   rngs=[np.random.default_rng(seed)])  # fmt: skip
        if not 5.0 <= seconds <= 600.0:
            raise InputError("--seconds", "value", "out of range", limit="[5, 600]", value=seconds)
    except InputError as error:
        _fail(error, as_json)
        return
    assert state is not None
    lems_true = float(state.strength[0][:, LOWER].sum())
    ais = str(course.ais[0, -1])
    from openbsi.patient.lesion import SEGMENTS as _SEG
    from openbsi.runtime.session_surrogate import calibrate_model, run_dose_session

    _writable(out)
    if model is None:
        model = calibrate_model(out / "calibration", seed=seed)
    measured = run_dose_session(
        out / "session", nli=spec.nli if _SEG.index(spec.nli) <= _SEG.index("T12") else "T12",
        ais=ais, lems=lems_true, muscle_condition=float(state.muscle_condition[0]),
        days_since_injury=float(state.days_since_injury[0] + days), model=model,
        seconds=seconds, seed=seed,
    )  # fmt: skip
    surrogate = load_surrogate()
    accuracy = measured["decoder_accuracy"]
    predicted = {
        k: float(v)
        for k, v in session_dose(lems_true, accuracy if accuracy is not None else 0.89).items()
    }
    comparison = {}
    for name, value in predicted.items():
        got = measured.get(name)
        tol = float(surrogate["tolerance"][name])
        agrees = None if got is None else bool(abs(got - value) <= tol)
        comparison[name] = {"measured": got, "predicted": value, "tolerance": tol, "agrees": agrees}
    verdicts = [c["agrees"] for c in comparison.values() if c["agrees"] is not None]
    result = _clean({
        "patient": spec.patient_id, "week": week, "ais": ais, "lems": lems_true,
        "decoder_accuracy": accuracy, "dose": comparison,
        "agrees": bool(verdicts) and all(verdicts),
        "surrogate_provenance": surrogate["provenance"], "run_folder": str(out / "session"),
    })  # fmt: skip
    if as_json:
        typer.echo(json.dumps(result))
        return
    console.print(f"{spec.patient_id} at week {week}: AIS {ais}, LEMS {lems_true:.1f}; decoder "
                  f"accuracy {accuracy}", highlight=False)  # fmt: skip
    for name, c in comparison.items():
        verdict = "agrees" if c["agrees"] else "differs"
        console.print(
            f"  {name}: measured {c['measured']}, surrogate {c['predicted']:.3f} "
            f"(tolerance {c['tolerance']:.3f}) -> {verdict}",
            highlight=False,
        )


@recovery_app.command("validate")
def recovery_validate(
    out: Annotated[Path | None, typer.Option("--out", help="folder for the figures")] = None,
    n: Annotated[int, typer.Option("--n", help="natural-history cohort")] = 2000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Every validation of issue #11 with its bar: natural history, dose-response, injectable
    timing, ignition threshold, BSI vs stimulation alone (figures recovery_*.png with --out)."""
    from openbsi.recovery import validation as v
    from openbsi.recovery.figures import natural_history_figure, sweep_figure
    from openbsi.recovery.natural_history import BARS, run_natural_history, summarise

    patients, course = run_natural_history(n, 12, seed)
    nh = summarise(patients, course, 12)
    timing_days = [0.5, 3.0, 7.0, 14.0, 21.0, 35.0, 60.0, 120.0, 240.0]
    timing = v.injectable_timing_sweep(timing_days, n=200)
    multiples = [0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0]
    ignition = {m: v.ignition_fraction(m, n=200) for m in multiples}
    steps = [0.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0]
    dose = v.rehab_dose_response(steps, n=200)
    bsi = v.bsi_vs_stimulation(n=200)
    best = max(timing, key=timing.get)
    c = nh["conversion"]
    lems = nh["lems_gain"]
    bars = {
        "A_to_incomplete": [c["A"]["to_incomplete"], BARS["A_to_incomplete"]],
        "C_to_D": [c["C"]["to_D"], BARS["C_to_D"]],
        "D_stays_D": [c["D"]["unchanged"], BARS["D_stays_D"]],
        "ais_d_slope": [
            nh["proportional_recovery"]["ais_d_slope"],
            BARS["ais_d_proportional_slope"],
        ],
    }
    checks = {k: bool(lo <= val <= hi) for k, (val, (lo, hi)) in bars.items()}
    checks["A_gain_below_BCD"] = all(lems["A"]["mean"] < 0.6 * lems[g]["mean"] for g in "BCD")
    checks["injectable_interior_optimum"] = best not in (timing_days[0], timing_days[-1])
    checks["ignition_2x_above_on_ge_90pct"] = ignition[2.0] >= 0.9
    checks["ignition_2x_below_on_le_10pct"] = ignition[0.5] <= 0.1
    checks["bsi_beats_stimulation_alone"] = bsi["bsi"] > bsi["epidural_paddle"]
    result = _clean({
        "natural_history": {"values": bars, "lems_gain": {g: lems[g]["mean"] for g in "ABCD"}},
        "injectable_timing_extra_motor_points": {str(k): val for k, val in timing.items()},
        "injectable_best_day": best,
        "ignition_fraction_on": {str(k): val for k, val in ignition.items()},
        "rehabilitation_extra_lems": {str(k): val for k, val in dose.items()},
        "bsi_vs_stimulation_extra_lems": bsi,
        "checks": checks,
        "all_pass": all(checks.values()),
    })  # fmt: skip
    if out is not None:
        _writable(out)
        natural_history_figure(nh, out / "recovery_natural_history.png")
        sweep_figure(np.array(timing_days), np.array(list(timing.values())),
                     out / "recovery_injectable_timing.png", xlabel="injection day after injury",
                     ylabel="extra total motor score at 1 year", logx=True,
                     title="injectable depot (t1/2 7 d): timing sweep, AIS C, n=200")  # fmt: skip
        sweep_figure(np.array(multiples), np.array(list(ignition.values())),
                     out / "recovery_ignition.png", xlabel="pulse / threshold",
                     ylabel="share with repair switched on",
                     title="iPSC progenitors: ignition threshold, n=200")  # fmt: skip
        sweep_figure(np.array(steps), np.array(list(dose.values())),
                     out / "recovery_dose_response.png", xlabel="treadmill steps per session",
                     ylabel="extra LEMS after 60 sessions",
                     title="rehabilitation dose-response, chronic AIS C/D, n=200")  # fmt: skip
    if as_json:
        typer.echo(json.dumps(result))
        return
    console.print_json(json.dumps(result))
