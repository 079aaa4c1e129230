"""The bar: identical summary.json (but runner and wall_s) from serial and Ray with 2 workers."""

from __future__ import annotations

import pytest

from openbsi.trials.run import run_protocol
from openbsi.trials.runners import RayRunner, SerialRunner


def _strip(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("runner", "wall_s")}


@pytest.mark.slow
def test_serial_and_ray_give_identical_summaries(ray_session, small) -> None:
    protocol = small("bsi-walking", n=48)
    serial = run_protocol(protocol, runner=SerialRunner(), batch_size=16)
    ray = run_protocol(protocol, runner=RayRunner("auto", workers=2), batch_size=16)
    assert ray.summary["runner"] == "ray" and serial.summary["runner"] == "serial"
    assert _strip(ray.summary) == _strip(serial.summary)
    assert serial.summary["arms"]["bsi"]["responders"]["wisci_2_levels"]["n"] > 0
