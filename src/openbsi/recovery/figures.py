"""Figures of a course and of the validations (matplotlib, Agg backend, PNG files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openbsi.recovery.types import CohortCourse, Plan


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def course_figure(course: CohortCourse, plan: Plan, path: Path, title: str) -> Path:
    """One patient's assessments over time, interventions shaded."""
    plt = _pyplot()
    weeks = course.visit_days / 7.0
    panels = [
        (("uems", "lems"), "ISNCSCI motor score (0-50)"),
        (("tenmwt_m_s",), "10MWT speed (m/s)"),
        (("sixmwt_m",), "6MWT distance (m)"),
        (("wisci",), "WISCI II (0-20)"),
        (("scim",), "SCIM III (0-100)"),
        (("grassp_strength", "grassp_prehension"), "GRASSP"),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(12, 6), sharex=True)
    for ax, (measures, label) in zip(axes.ravel(), panels, strict=True):
        for iv in plan.interventions:
            end = iv.end_day if iv.end_day is not None else iv.start_day + 1
            ax.axvspan(iv.start_day / 7, max(end, iv.start_day + 1) / 7, alpha=0.08, color="C2")
        for m in measures:
            ax.plot(weeks, course.scores[m][0], marker="o", ms=3, label=m)
        ax.set_ylabel(label)
        if len(measures) > 1:
            ax.legend(fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("week of the course")
    grades = " ".join(course.ais[0])
    fig.suptitle(f"{title}\nAIS at visits: {grades}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def natural_history_figure(summary: dict, path: Path) -> Path:
    """Simulated 1-year conversion and gains beside the published ranges."""
    plt = _pyplot()
    conv = summary["conversion"]
    rows = [
        ("A -> incomplete", conv["A"]["to_incomplete"], (0.154, 0.302)),
        ("C -> D", conv["C"]["to_D"], (0.667, 0.848)),
        ("D stays D", conv["D"]["unchanged"], (0.84, 1.0)),
        ("D -> E", conv["D"]["to_E"], (0.0, 0.156)),
        ("AIS D slope", summary["proportional_recovery"]["ais_d_slope"], (0.59, 0.59)),
    ]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for k, (_, value, (lo, hi)) in enumerate(rows):
        ax.plot([lo, hi], [k, k], lw=8, color="0.8", solid_capstyle="butt")
        if lo == hi:
            ax.plot([lo], [k], "|", color="0.4", ms=16)
        ax.plot([value], [k], "o", color="C0")
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("fraction at 1 year (grey: published range, dot: simulated)")
    ax.set_title(f"natural history, n = {summary['n']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sweep_figure(
    x: np.ndarray, y: np.ndarray, path: Path, *, xlabel: str, ylabel: str, title: str,
    logx: bool = False,
) -> Path:  # fmt: skip
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    ax.plot(x, y, marker="o")
    if logx:
        ax.set_xscale("log")
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
