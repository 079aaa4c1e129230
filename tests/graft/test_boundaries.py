"""The graft stage imports nothing from runtime, decoding, patient or web (design.md)."""

from __future__ import annotations

from pathlib import Path


def test_graft_imports_only_inputs_from_the_project() -> None:
    import ast

    folder = Path(__file__).resolve().parents[2] / "src" / "openbsi" / "graft"
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("openbsi")
            ):
                assert node.module.split(".")[1] in ("graft", "inputs"), (path.name, node.module)
