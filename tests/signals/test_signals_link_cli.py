"""An authenticated link across processes over LSL: the session side here, the implant in
`openbsi stream virtual --link NAME`; commands execute there, attacks are refused there."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid

import pytest

from openbsi.link import RadioEnd
from openbsi.runtime.command_codec import encode_command
from openbsi.signals.lsl import LslByteLink
from openbsi.stimulation.types import ChannelCommand, StimCommand

pytestmark = pytest.mark.slow  # end-to-end: separate processes over LSL

CLI = "import openbsi.cli.stream; from openbsi.cli.apps import app, run; run(app)"


def test_commands_cross_an_authenticated_lsl_link_to_the_patient_process() -> None:
    name = f"openbsi-link-{uuid.uuid4().hex[:8]}"
    args = ["stream", "virtual", "--name", name + "-ecog", "--link", name, "--json"]
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    transport = None
    try:
        transport = LslByteLink(name, "base", timeout_s=30.0)
        base = RadioEnd.pair(transport.send, transport.receive, role="base", timeout_s=30.0)
        endpoint = base.endpoint
        captured: list[bytes] = []
        real_send = transport.send

        def tap(message: bytes) -> None:  # an eavesdropper records every frame on the air
            captured.append(message)
            real_send(message)

        base._send = tap
        channels = (ChannelCommand(3, 2.0, 300.0, 40.0), ChannelCommand(12, 2.0, 300.0, 40.0))
        for seq in range(15):
            now = time.monotonic_ns()
            base.send_down(encode_command(StimCommand(now, seq, "left_hip", channels)), now)
            time.sleep(0.1)
        for frame in captured[-6:-1]:  # replayed commands
            transport.send(frame)
        forged = bytearray(captured[-1])
        forged[30] ^= 0x01  # a modified command (CRC left wrong) ...
        transport.send(bytes(forged))
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        if transport is not None:
            transport.close()
    assert process.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["paired"], summary
    assert summary["link"]["confirmation_code"] == endpoint.confirmation_code
    # Most commands arrive in time; one the loaded patient process picks up too late is
    # refused as stale (and so are late pairing confirmations), never executed.
    assert 10 <= summary["implant"]["commands_received"] <= 15
    assert summary["pulses_delivered"] > 0
    # Replays of executed commands are refused by the window (of ones refused as stale, by age).
    link = summary["link"]
    assert link["rejected_replayed"] >= 1
    assert link["rejected_replayed"] + link["rejected_stale"] >= 5
    assert summary["link"]["rejected_corrupt"] == 1
    for key in ("executed_stale_commands", "executed_replayed_commands"):
        assert summary["implant"][key] == 0
