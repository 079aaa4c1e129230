"""If the app dies, the session goes on: it is its own process, and its log closes intact."""

from __future__ import annotations

import os
import signal

import pytest
from fastapi.testclient import TestClient

from openbsi.bench.web import Server, _seed_all, _start
from openbsi.store.log_reader import read_log
from openbsi.web.app import Settings, create_app

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def test_killing_the_server_leaves_the_session_running_and_its_log_intact(
    tmp_path, models_dir, helpers
):
    server = Server(tmp_path / "clinic", None)
    data_models = tmp_path / "clinic" / "models"
    data_models.parent.mkdir(parents=True)
    data_models.symlink_to(models_dir, target_is_directory=True)
    with server:
        http = server.client()
        records = _seed_all(server, http)
        session_id = _start(http, records, 12.0)
        run_dir = tmp_path / "clinic" / "runs" / f"session-{session_id:05d}"
        helpers.wait_for(lambda: (run_dir / "session.obsilog").is_file(), 120, "the log")
        pid = int((run_dir / "session.pid").read_text())
        server.process.send_signal(signal.SIGKILL)  # the app dies mid-session
        server.process.wait(10)
        assert _alive(pid)
        helpers.wait_for(lambda: not _alive(pid), 120, "the session's own end", 0.5)
    assert (run_dir / "recording.nwb").is_file()
    data = read_log(run_dir / "session.obsilog", load_ecog=False)
    assert data.closed and not data.problems and len(data.decodes) > 50
    # the app restarts: the session's record follows its process and its run folder
    restarted = TestClient(create_app(Settings(data_dir=tmp_path / "clinic")))
    login = restarted.post(
        "/api/login", json={"username": "clinician", "password": server.password}
    )
    assert login.status_code == 200
    assert restarted.get(f"/api/sessions/{session_id}").json()["status"] == "finished"
