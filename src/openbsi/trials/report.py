"""report.html: figures of one trial run and its credibility dossier (after ASME V&V 40)."""

from __future__ import annotations

import base64
import html
import io
import json
from typing import Any

import numpy as np

from openbsi.trials.analysis import measure_values
from openbsi.trials.protocol import Protocol
from openbsi.trials.simulate import ArmCourses

# The tests that check the model and this stage (code verification, V&V 40 section 5).
CODE_VERIFICATION = {
    "tests/trials/test_trials_protocol.py": "schema: invalid fields refused naming the field",
    "tests/trials/test_trials_fuzz.py": "loader fuzz: a protocol or one InputError, in time",
    "tests/trials/test_trials_cohort.py": "population marginals and screen against EMSCI mix",
    "tests/trials/test_trials_stats.py": "Clopper-Pearson and Newcombe intervals vs scipy/known",
    "tests/trials/test_trials_runners.py": "same result serial/pool/any batch; resume = fresh",
    "tests/trials/test_trials_ray.py": "serial and Ray (2 workers) give identical summaries",
    "tests/trials/test_trials_designs.py": "crossover / run-in analyses; mixed model finds a known"
    " slope difference; every example analysed end to end",
    "tests/trials/test_trials_power.py": "power rises with n; tornado over assumption parameters",
    "tests/trials/test_trials_cli.py": "Up-LIFT runs to a report; errors in one line; --json",
    "tests/recovery/": "the recovery model's own tests (natural history, therapies, scales)",
}


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _members(protocol: Protocol, cohort, courses: list[ArmCourses]) -> dict[str, np.ndarray]:
    names = [a.name for a in protocol.trial_arms]
    out = {}
    for i, c in enumerate(courses):
        if protocol.design.kind == "parallel" and not c.counterfactual:
            out[c.name] = cohort.allocation == names.index(c.name)
        elif protocol.design.kind == "crossover":
            out[c.name] = cohort.allocation == i
        else:
            out[c.name] = np.ones(cohort.n_enrolled, bool)
    return out


def fig_trajectories(protocol: Protocol, cohort, courses: list[ArmCourses]) -> str:
    import matplotlib.pyplot as plt

    measures = [m for m in protocol.assessments if m != "ais"][:4]
    fig, axes = plt.subplots(1, len(measures), figsize=(3.4 * len(measures), 3), squeeze=False)
    days = np.asarray(protocol.visits)
    members = _members(protocol, cohort, courses)
    for ax, m in zip(axes[0], measures, strict=True):
        for c in courses:
            v = measure_values(protocol, c, m)[members[c.name]]
            n = np.isfinite(v).sum(axis=0)
            filled = np.where(np.isfinite(v), v, 0.0)
            mean = np.where(n > 0, filled.sum(axis=0) / np.maximum(n, 1), np.nan)
            sq = np.where(np.isfinite(v), (v - mean) ** 2, 0.0).sum(axis=0)
            sd = np.where(n > 1, np.sqrt(sq / np.maximum(n - 1, 1)), np.nan)
            half = 1.96 * sd / np.sqrt(np.maximum(n, 1))
            style = "--" if c.counterfactual else "-"
            ax.plot(days, mean, style, marker="o", ms=3, label=c.name)
            ax.fill_between(days, mean - half, mean + half, alpha=0.15)
        if protocol.design.kind == "single_arm_run_in":
            ax.axvline(protocol.design.run_in_days, color="grey", lw=0.8, ls=":")
        ax.set_title(m, fontsize=9)
        ax.set_xlabel("trial day")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Trajectories per arm (mean, 95 % CI; dashed: counterfactual)", fontsize=10)
    return _png(fig)


def fig_responders(summary: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    arms = list(summary["arms"])
    endpoints = list(next(iter(summary["arms"].values()))["responders"])
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(endpoints) * len(arms) / 2, 3))
    width = 0.8 / len(arms)
    for i, arm in enumerate(arms):
        rates, lo, hi = [], [], []
        for e in endpoints:
            block = summary["arms"][arm]["responders"][e]
            rate = block["rate"] if block["rate"] is not None else np.nan
            ci = block["ci95"] or [np.nan, np.nan]
            rates.append(rate)
            lo.append(rate - ci[0])
            hi.append(ci[1] - rate)
        x = np.arange(len(endpoints)) + i * width
        ax.bar(x, rates, width, yerr=[lo, hi], capsize=3, label=arm)
    ax.set_xticks(np.arange(len(endpoints)) + width * (len(arms) - 1) / 2, endpoints)
    ax.set_ylim(0, 1)
    ax.set_ylabel("responder rate (Clopper-Pearson 95 %)")
    ax.legend(fontsize=7)
    return _png(fig)


def fig_consort(flow: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    arms = list(flow["arms"])
    fig, ax = plt.subplots(figsize=(max(4, 2.6 * len(arms)), 3.6))
    ax.axis("off")
    box = {"boxstyle": "round", "fc": "#eef", "ec": "#446"}
    fails = ", ".join(f"{k} {v}" for k, v in flow["screen_failures"].items()) or "none"
    ax.text(0.5, 0.95, f"screened {flow['screened']}", ha="center", va="center", bbox=box)
    ax.text(
        0.5,
        0.70,
        f"enrolled {flow['enrolled']} (target {flow['enrolment_target']})\n"
        f"screen failures: {fails}",
        ha="center",
        va="center",
        bbox=box,
        fontsize=8,
    )
    for i, arm in enumerate(arms):
        x = (i + 0.5) / len(arms)
        a = flow["arms"][arm]
        ax.text(
            x,
            0.40,
            f"{arm}\nallocated {a['allocated']}\ndropped {a['dropped']}\nanalysed {a['analysed']}",
            ha="center",
            va="top",
            bbox=box,
            fontsize=8,
        )
        ax.annotate("", (x, 0.44), (0.5, 0.60), arrowprops={"arrowstyle": "->"})
    ax.annotate("", (0.5, 0.80), (0.5, 0.90), arrowprops={"arrowstyle": "->"})
    return _png(fig)


def fig_power(power: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    n, p = np.array(power["n"]), np.array(power["power"])
    ci = np.array([c if c else [np.nan, np.nan] for c in power["ci95"]])
    ax.errorbar(n, p, yerr=[p - ci[:, 0], ci[:, 1] - p], marker="o", capsize=3)
    ax.axhline(0.8, color="grey", ls=":", lw=0.8)
    ax.set_ylim(0, 1)
    ax.set_xlabel("patients enrolled")
    ax.set_ylabel(f"P(primary met), {power['trials_per_n']} trials")
    return _png(fig)


def fig_tornado(sens: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    rows = [r for r in sens["parameters"] if r["swing"] is not None][:12]
    fig, ax = plt.subplots(figsize=(6, 0.4 * max(len(rows), 2) + 1))
    base = sens["base_estimate"] or 0.0
    for i, r in enumerate(reversed(rows)):
        for side, color in (("low", "#48c"), ("high", "#c84")):
            v = r[f"estimate_{side}"]
            ax.barh(i, v - base, left=base, color=color, alpha=0.8, label=side if i == 0 else None)
    ax.set_yticks(range(len(rows)), [r["parameter"] for r in reversed(rows)], fontsize=7)
    ax.axvline(base, color="k", lw=0.8)
    ax.set_xlabel(sens["metric"])
    ax.legend(fontsize=7)
    return _png(fig)


def _table(rows: list[list[Any]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _ci(block: dict | None) -> str:
    if not block or block.get("ci95") is None:
        return "null"
    lo, hi = block["ci95"]
    return f"[{lo:.3g}, {hi:.3g}]"


def dossier(protocol: Protocol, summary: dict, evidence: list[dict], sens: dict | None) -> str:
    """The credibility dossier's sections as HTML."""
    from openbsi.trials.power import assumption_parameters

    params = assumption_parameters(protocol)
    within = sum(e["within"] for e in evidence)
    parts = [
        "<h2>Credibility dossier (after ASME V&amp;V 40-2018)</h2>",
        "<h3>Context of use</h3><p>An in-silico trial of the protocol "
        f"<b>{html.escape(protocol.name)}</b> to inform trial design (arms, timing, sample "
        "size, endpoints) before a clinical trial. It does not replace the clinical trial, does "
        "not support a claim about an individual patient, and its numbers are hypotheses.</p>",
        "<h3>Model risk</h3><p>Model influence: <b>medium</b> (the simulation is one input to "
        "a design decision, alongside preclinical and clinical evidence). Decision consequence: "
        "<b>medium</b> (a poor design wastes a trial, it harms no one directly). Model risk: "
        "<b>medium</b>; the evidence below is what that risk asks for, and it is not enough for "
        "a regulatory claim.</p>",
        "<h3>Code verification</h3>"
        + _table([[k, v] for k, v in CODE_VERIFICATION.items()], ["tests", "what they check"]),
        f"<h3>Validation evidence</h3><p>{within} of {len(evidence)} published figures "
        "reproduced within their published range (distribution matching).</p>"
        + _table(
            [
                [e["figure"], e["simulated"], e["published"], e["within"], e["source"]]
                for e in evidence
            ],
            ["figure", "simulated", "published", "within", "source"],
        ),
        "<h3>Applicability</h3><p>The natural history is calibrated to acute-cohort registries "
        "(EMSCI, SCIMS) followed for about a year; trials of chronic patients or of therapies "
        "never tested in humans extrapolate beyond that. Therapy effects graded below human "
        "evidence (animal, assumption) carry an explicit translational discount. The cohort's "
        "level, age and time-since-injury marginals and their correlations are assumptions.</p>",
        f"<h3>Assumptions</h3><p>Share of the simulated gain resting on assumption-graded "
        f"parameters: <b>{summary.get('assumption_share')}</b>. Assumption-graded parameters in "
        f"the arms' therapies: {len(params)}.</p>"
        + _table(
            [[n, i.value, i.unit, f"[{i.low}, {i.high}]", i.source] for n, i in params],
            ["parameter", "value", "unit", "range", "source"],
        ),
    ]
    if sens is not None:
        depends = ", ".join(sens["conclusion_depends_on"]) or "none of them"
        parts.append(
            f"<p>The verdict on the primary endpoint flips within the plausible range "
            f"of: <b>{html.escape(depends)}</b>.</p>"
        )
    return "\n".join(parts)


def verdict(protocol: Protocol, summary: dict, power: dict | None, sens: dict | None) -> str:
    """One paragraph: the primary result, how sure, and how much rests on assumptions."""
    s = summary["success"]
    est, ci = s.get("estimate"), s.get("ci95")
    what = "responder rate" if s["rule"] == "rate_lower_ci_above" else "difference in responders"
    parts = [
        f"Primary endpoint '{protocol.primary}': {what} {_fmt(est)} (95 % CI {_fmt_ci(ci)}); "
        f"the success rule ({s['rule']} {s['threshold']}) is "
        + ("met." if s.get("met") else "not met." if s.get("met") is False else "not computable.")
    ]
    if power is not None and protocol.n_enrolled in power["n"]:
        p = power["power"][power["n"].index(protocol.n_enrolled)]
        parts.append(
            f"Power at the planned {protocol.n_enrolled} patients: {_fmt(p)} "
            f"({power['trials_per_n']} simulated trials)."
        )
    parts.append(
        f"Share of the simulated gain resting on assumption-graded parameters: "
        f"{_fmt(summary.get('assumption_share'))}."
    )
    if sens is not None:
        flips = sens["conclusion_depends_on"]
        parts.append(
            "Within their plausible ranges, "
            + (
                f"these assumptions flip the verdict: {', '.join(flips)}."
                if flips
                else "no single assumption flips the verdict."
            )
        )
    return " ".join(parts)


def _fmt(x) -> str:
    return "null" if x is None else f"{x:.3g}"


def _fmt_ci(ci) -> str:
    return "null" if ci is None else f"{ci[0]:.3g} to {ci[1]:.3g}"


def write_report(path, protocol, cohort, courses, summary, power, sens, evidence) -> None:
    arms_rows = []
    for name, block in summary["arms"].items():
        for e, r in block["responders"].items():
            arms_rows.append([name, e, r["k"], r["n"], r["rate"], _ci(r)])
    comp_rows = []
    for c in summary["comparisons"]:
        r = c["responders"][protocol.primary]
        comp_rows.append(
            [
                c["kind"],
                f"{c['arm']} - {c['versus']}",
                protocol.primary,
                r["difference"],
                _ci(r),
                r["n"],
            ]
        )
    safety_rows = [
        [
            arm,
            s["n_events"],
            s["patients_with_event"]["k"],
            s["patients_with_serious_event"]["k"],
            _ci(s["patients_with_serious_event"]),
            json.dumps(s["by_kind"]),
        ]
        for arm, s in summary["safety"].items()
    ]
    figures = [
        ("Trajectories", fig_trajectories(protocol, cohort, courses)),
        ("Responders", fig_responders(summary)),
        ("CONSORT flow", fig_consort(summary["consort"])),
    ]
    if power is not None:
        figures.append(("Power by simulation", fig_power(power)))
    if sens is not None and sens["parameters"]:
        figures.append(("Sensitivity to assumptions (tornado)", fig_tornado(sens)))
    success = summary["success"]
    body = [
        f"<h1>In-silico trial: {html.escape(protocol.name)}</h1>",
        "<h2>What the trial would likely show</h2>",
        f"<p>{html.escape(verdict(protocol, summary, power, sens))}</p>",
    ]
    body += [
        f"<p>{html.escape(protocol.description)}</p>",
        f"<p>Design <b>{protocol.design.kind}</b>, seed {protocol.seed}. Protocol SHA-256 "
        f"(recorded before the run): <code>{protocol.sha256}</code>.</p>",
        f"<p>Primary endpoint <b>{html.escape(protocol.primary)}</b>: rule {success['rule']} "
        f"{success['threshold']}; estimate {success.get('estimate')}, 95 % CI "
        f"{success.get('ci95')}: met = <b>{success.get('met')}</b>.</p>",
        "<h2>Responders (Clopper-Pearson 95 %)</h2>",
        _table(arms_rows, ["arm", "endpoint", "k", "n", "rate", "95 % CI"]),
        "<h2>Comparisons (difference in responder rate, Newcombe 95 %)</h2>",
        _table(comp_rows, ["kind", "arms", "endpoint", "difference", "95 % CI", "n"]),
        "<h2>Safety</h2>",
        _table(
            safety_rows,
            [
                "arm",
                "events",
                "patients with event",
                "patients with serious",
                "serious 95 % CI",
                "by kind",
            ],
        ),
    ]
    change_rows = [
        [arm, m, c["n"], c["mean"], _ci(c)]
        for arm, block in summary["arms"].items()
        for m, c in block["change"].items()
    ]
    body += [
        "<h2>Change from baseline (mean, t 95 %)</h2>",
        _table(change_rows, ["arm", "measure", "n", "mean change", "95 % CI"]),
    ]
    model = summary.get("longitudinal")
    if model and "terms" in model:
        rows = [[t, v["estimate"], _ci(v), v["p"]] for t, v in model["terms"].items()]
        body += [
            f"<h2>Mixed model: {html.escape(model['formula'])}</h2>",
            f"<p>{model['n_patients']} patients, {model['n_observations']} visits, "
            f"converged: {model['converged']}.</p>",
            _table(rows, ["term", "estimate", "95 % CI", "p"]),
        ]
    for title, uri in figures:
        body.append(f"<h2>{title}</h2><img src='{uri}' alt='{title}'>")
    body.append(dossier(protocol, summary, evidence, sens))
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:"
        "collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
    )
    doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(protocol.name)}"
        f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>"
    )
    path.write_text(doc, encoding="utf-8")
