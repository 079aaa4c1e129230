"""The live options' bad input: one line naming the option, exit 2, no traceback."""

import subprocess
import sys

import pytest


def _error(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "openbsi", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    return done.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("session", "--grace-s", "-1"), "grace_s"),
        (("session", "--source", "lsl:x", "--fast", "--model", "m.obsi"), "drop --fast"),
        (("bench", "artifacts", "--levels", "ten"), "--levels"),
        (("bench", "artifacts", "--levels", "-5"), "--levels"),
    ],
)
def test_bad_live_options_are_one_line_errors(tmp_path, args, named):
    if "--model" in args:  # the model file must exist for the check to reach the source
        (tmp_path / "m.obsi").write_bytes(b"")
        args = tuple(str(tmp_path / a) if a == "m.obsi" else a for a in args)
    assert named in _error(
        *args, *(("--out", str(tmp_path / "run")) if args[0] == "session" else ())
    )
