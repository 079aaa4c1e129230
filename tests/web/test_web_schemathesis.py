"""API fuzzing with schemathesis against the app's OpenAPI schema: no server error for any
role, and no operation answers 2xx without authentication or to a role that lacks it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from openbsi.web import runner
from openbsi.web.app import Settings, create_app
from openbsi.web.models import ROLES
from openbsi.web.roles import PERMISSIONS

schemathesis = pytest.importorskip("schemathesis")
pytestmark = pytest.mark.slow

_DATA = Path(tempfile.mkdtemp(prefix="obsi-schemathesis-"))
APP = create_app(Settings(data_dir=_DATA))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
_started: list = []


@pytest.fixture(scope="module")
def logins(helpers):
    """Headers and cookies of one logged-in session per role."""
    helpers.add_users(APP)
    out = {}
    for role in ROLES:
        client = TestClient(APP)
        response = client.post("/api/login", json={"username": role, "password": helpers.PASSWORD})
        assert response.status_code == 200
        out[role] = ({"X-CSRF-Token": response.json()["csrf_token"]}, dict(client.cookies))
    return out


@pytest.fixture(autouse=True)
def no_session_processes(monkeypatch):
    """A generated, valid session start must not launch real sessions during fuzzing."""
    monkeypatch.setattr(runner, "start_session", lambda *a, **k: _started.append(a))


def _permission(method: str, path: str) -> str | None:
    from fastapi.routing import APIRoute

    def walk(routes):
        for route in routes:
            if isinstance(route, APIRoute) and route.path == path and method in route.methods:
                return route
            if hasattr(route, "original_router"):
                found = walk(route.original_router.routes)
                if found:
                    return found
        return None

    route = walk(APP.routes)
    if route is None:  # a method the path does not have (schemathesis probes them): 405
        return None
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if getattr(dependency.call, "permission", None):
            return dependency.call.permission
        stack.extend(dependency.dependencies)
    return None


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_no_access_without_the_role(case, logins):
    method, path = case.method.upper(), case.path
    permission = _permission(method, path)
    anonymous = case.call()
    assert anonymous.status_code < 500, anonymous.text
    if path != "/api/login" or method != "POST":
        assert not 200 <= anonymous.status_code < 300, (method, path, anonymous.status_code)
    if path == "/api/logout":
        return  # it would end the sessions the other cases use
    for role, (headers, cookies) in logins.items():
        response = case.call(headers={**(case.headers or {}), **headers}, cookies=cookies)
        assert response.status_code < 500, (role, method, path, response.text[:300])
        if permission is not None and role not in PERMISSIONS[permission]:
            assert response.status_code in (403, 422, 400), (
                role,
                method,
                path,
                response.status_code,
            )
