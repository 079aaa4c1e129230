"""Graft test helpers: the real ABF folder and fcsparser's FCS files, read in place."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ABF_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "abf"
if not ABF_DIR.is_dir():  # the worktree sits at /work/wt/NAME; CI has ../shared beside the clone
    ABF_DIR = Path("/work/shared/data/abf")


def abf_path(name: str) -> Path:
    path = ABF_DIR / name
    if not path.is_file():
        pytest.skip(f"real ABF file absent: {path} (see shared/data/README.md)")
    return path


def fcsparser_files() -> list[Path]:
    """The FCS files fcsparser's wheel ships (found without importing fcsparser)."""
    spec = importlib.util.find_spec("fcsparser")
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations))) / "tests" / "data"
    return sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in {".fcs", ".lmd"}
    )
