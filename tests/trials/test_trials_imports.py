"""The stage's import rule: trials imports recovery (and inputs), never runtime, decoding, web,
cli or report."""

from __future__ import annotations

import ast
from pathlib import Path

import openbsi.trials

FORBIDDEN = ("openbsi.runtime", "openbsi.decoding", "openbsi.web", "openbsi.cli", "openbsi.report")


def test_trials_never_imports_the_forbidden_stages() -> None:
    root = Path(openbsi.trials.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
