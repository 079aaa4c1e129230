"""Shared fixtures: an app on a fresh data dir, one user per role, logged-in clients."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from openbsi.stimulation.program import default_paddle_program, dump_program
from openbsi.web.app import Settings, create_app
from openbsi.web.models import ROLES, User, utc_now
from openbsi.web.security import hash_password

PASSWORD = "correct-horse-9"
FULL_NAMES = {
    "clinician": "Claire Clinician",
    "engineer": "Eric Engineer",
    "researcher": "Rita Researcher",
    "auditor": "Aldo Auditor",
}


def add_users(app) -> None:
    hashed = hash_password(PASSWORD)
    with app.state.sessions() as db:
        for role in ROLES:
            db.add(
                User(
                    username=role,
                    full_name=FULL_NAMES[role],
                    role=role,
                    password_hash=hashed,
                    active=True,
                    created_at=utc_now(),
                )
            )
        db.commit()


class Client:
    """A TestClient logged in as one role; sends the CSRF header on every request."""

    def __init__(self, app, role: str | None) -> None:
        self.http = TestClient(app)
        self.csrf = ""
        self.role = role
        if role is not None:
            response = self.http.post("/api/login", json={"username": role, "password": PASSWORD})
            assert response.status_code == 200, response.text
            self.csrf = response.json()["csrf_token"]

    def request(self, method: str, url: str, **kw):
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.http.request(method, url, headers=headers, follow_redirects=False, **kw)

    def get(self, url: str, **kw):
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw):
        return self.request("POST", url, **kw)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "clinic"


@pytest.fixture
def app(data_dir: Path):
    application = create_app(Settings(data_dir=data_dir))
    add_users(application)
    return application


@pytest.fixture
def clients(app) -> dict[str, Client]:
    return {role: Client(app, role) for role in ROLES}


def program_text(amplitude_ma: float | None = None) -> str:
    text = dump_program(default_paddle_program())
    if amplitude_ma is not None:
        text = text.replace("amplitude_ma: 3.5", f"amplitude_ma: {amplitude_ma}", 1)
    return text


def seed_records(clients: dict[str, Client], warning_uc_cm2: float = 30.0) -> dict:
    """A virtual patient, a paddle and a program with one draft version."""
    patient = clients["clinician"].post(
        "/api/patients",
        json={
            "pseudonym": "VP-001",
            "kind": "virtual",
            "injury_level": "C5",
            "ais": "C",
            "profile": "bsi-walker",
        },
    )
    assert patient.status_code == 201, patient.text
    device = clients["engineer"].post(
        "/api/devices",
        json={
            "name": "paddle-1",
            "kind": "paddle",
            "profile": "paddle",
            "charge_warning_uc_cm2": warning_uc_cm2,
        },
    )
    assert device.status_code == 201, device.text
    program = clients["engineer"].post(
        "/api/programs",
        json={"name": "walking", "device_id": device.json()["id"], "yaml_text": program_text()},
    )
    assert program.status_code == 201, program.text
    return {"patient": patient.json(), "device": device.json(), "program": program.json()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        add_users(self.app)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def client(self, role: str) -> httpx.Client:
        http = httpx.Client(base_url=self.url, timeout=30)
        response = http.post("/api/login", json={"username": role, "password": PASSWORD})
        response.raise_for_status()
        http.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return http


@pytest.fixture(scope="session")
def helpers():
    """The module's helpers for tests (pytest's importlib mode has no shared test modules)."""
    return SimpleNamespace(
        program_text=program_text,
        seed_records=seed_records,
        Client=Client,
        LiveServer=LiveServer,
        PASSWORD=PASSWORD,
        wait_for=wait_for,
        add_users=add_users,
        seed_over_http=seed_over_http,
    )


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """One calibrated decoder for every session test (the app's own calibration subprocess)."""
    from openbsi.web.runner import prepare_model

    folder = tmp_path_factory.mktemp("models")
    prepare_model(folder, 0)
    return folder


def wait_for(predicate, timeout_s: float, what: str, interval_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def seed_over_http(server, *, approve: bool = True) -> dict:
    """Records through a live server: patient, device, program v1 validated (and approved)."""

    class Poster:
        def __init__(self, http):
            self.http = http

        def post(self, url, json):
            return self.http.post(url, json=json)

    clinician, engineer = server.client("clinician"), server.client("engineer")
    records = seed_records({"clinician": Poster(clinician), "engineer": Poster(engineer)})
    base = f"/api/programs/{records['program']['id']}/versions/1"
    assert clinician.post(f"{base}/validate", json={}).status_code == 200
    if approve:
        sign = {
            "printed_name": FULL_NAMES["clinician"],
            "meaning": "approval",
            "password": PASSWORD,
        }
        assert clinician.post(f"{base}/approve", json=sign).status_code == 200
    return records
