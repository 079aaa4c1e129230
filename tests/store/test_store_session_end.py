"""Sessions end well: a full disk stops stimulation within 1 s with an exact loss count; signals
leave a complete, verified run folder; a refused or failed start leaves a run folder alone."""

from __future__ import annotations

import errno
import signal
from pathlib import Path

import numpy as np
import pytest

from openbsi.runtime.clock import SimulatedClock
from openbsi.runtime.live_session import LiveSessionConfig, run_live_session
from openbsi.store.framing import HEADER, RecordType, decode_payload
from openbsi.store.session_log import SessionRecorder
from openbsi.store.verify import verify_recording

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("calibration")
    run_live_session(
        LiveSessionConfig(out_dir=out, seconds=1.0, calibration_s=30.0), clock=SimulatedClock()
    )
    return out / "model.obsi"


class _Watched:
    """A stimulator wrapper that remembers every pulse and the newest session time asked for."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.pulses: list = []
        self.now_ns = 0

    def run_until(self, t_ns: int) -> list:
        self.now_ns = max(self.now_ns, t_ns)
        pulses = self._inner.run_until(t_ns)
        self.pulses += pulses
        return pulses

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def _full_disk_from(monkeypatch: pytest.MonkeyPatch, watched: list, start_s: float) -> dict:
    """Injected writer failure: every write fails with ENOSPC once the session passed start_s."""
    state = {"failed": 0, "first_ns": None, "ecog_samples": 0}
    real = SessionRecorder._os_write

    def write(self: SessionRecorder, fd: int, data: memoryview) -> int:
        if watched and watched[0].now_ns >= start_s * 1e9:
            state["failed"] += 1
            state["first_ns"] = state["first_ns"] or watched[0].now_ns
            record_type = int.from_bytes(bytes(data[12:14]), "little")
            if record_type == RecordType.ECOG:  # count the refused samples independently
                _, arrays = decode_payload(bytes(data[HEADER.size :]))
                state["ecog_samples"] += arrays[0].shape[1]
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, fd, data)

    monkeypatch.setattr(SessionRecorder, "_os_write", write)
    return state


def _wrap(watched: list):
    def wrap(stimulator: object) -> _Watched:
        watched.append(_Watched(stimulator))
        return watched[0]

    return wrap


def test_a_full_disk_stops_stimulation_within_a_second(
    model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched: list = []
    state = _full_disk_from(monkeypatch, watched, start_s=2.0)
    config = LiveSessionConfig(out_dir=tmp_path, seconds=8.0, model=model_path)
    result = run_live_session(config, clock=SimulatedClock(), wrap_stimulator=_wrap(watched))
    assert result.stop_reason == "recording failed" and result.exit_code == 4
    assert result.lost["records"] == state["failed"] > 0  # exact: every refused record counted
    assert result.lost["ecog_samples"] == state["ecog_samples"] > 0
    pulses_ns = np.array([p.t_ns for p in watched[0].pulses])
    assert pulses_ns.size and (pulses_ns < state["first_ns"]).any()
    assert pulses_ns.max() <= state["first_ns"] + 1e9  # zero within 1 s of the first failure
    verdict = verify_recording(tmp_path / "session.obsilog")
    assert not verdict["ok"] and verdict["recovered"]  # the close record could not be written


def test_continue_unrecorded_runs_on_and_counts_the_loss(
    model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched: list = []
    state = _full_disk_from(monkeypatch, watched, start_s=2.0)
    config = LiveSessionConfig(
        out_dir=tmp_path, seconds=5.0, model=model_path, continue_unrecorded=True
    )
    result = run_live_session(config, clock=SimulatedClock(), wrap_stimulator=_wrap(watched))
    assert result.stop_reason is None and result.exit_code == 4
    assert result.lost["records"] == state["failed"]
    pulses_ns = np.array([p.t_ns for p in watched[0].pulses])
    assert pulses_ns.max() > state["first_ns"] + 2e9  # it went on stimulating, as asked


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_leaves_a_complete_verified_run_folder(
    model_path: Path, tmp_path: Path, signum: int
) -> None:
    from openbsi.runtime.signal_drill import signal_once

    rng = np.random.default_rng(signum)
    result = signal_once(model_path, tmp_path / "run", signum, float(rng.uniform(0, 3)), 0)
    assert result["complete"] and result["exit_code_ok"], result
    if result["last_pulse_after_signal_s"] is not None:
        assert result["last_pulse_after_signal_s"] <= 1.0, result


def test_a_failed_start_leaves_an_existing_run_folder_alone(
    model_path: Path, tmp_path: Path
) -> None:
    config = LiveSessionConfig(out_dir=tmp_path, seconds=1.0, model=model_path)
    run_live_session(config, clock=SimulatedClock())
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    bad_model = tmp_path.parent / "broken.obsi"
    bad_model.write_bytes(b"not a model")
    with pytest.raises(ValueError):
        run_live_session(
            LiveSessionConfig(out_dir=tmp_path, seconds=1.0, model=bad_model),
            clock=SimulatedClock(),
        )
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
