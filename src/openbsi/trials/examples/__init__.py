"""Shipped example protocols (`openbsi trial example --design NAME`, docs/trials.md)."""

from __future__ import annotations

from importlib import resources

EXAMPLES = {
    "uplift": "uplift.yaml",
    "bsi-walking": "bsi_walking.yaml",
    "combination": "combination.yaml",
    "injectable-timing": "injectable_timing.yaml",
}


def example_bytes(design: str) -> bytes:
    """The example protocol's exact bytes (KeyError for an unknown design)."""
    return resources.files(__package__).joinpath(EXAMPLES[design]).read_bytes()


def example_text(design: str) -> str:
    return example_bytes(design).decode("utf-8")
