"""Authentication, CSRF, throttling, and the whole role x route matrix."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from openbsi.web.models import ROLES
from openbsi.web.roles import PERMISSIONS

PUBLIC = {("POST", "/api/login"), ("GET", "/login"), ("GET", "/healthz")}


def _permission(route: APIRoute) -> str | None:
    """The permission a route's dependencies require (require(...) marks it)."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        permission = getattr(dependency.call, "permission", None)
        if permission is not None:
            return permission
        stack.extend(dependency.dependencies)
    return None


def _api_routes(routes) -> list[APIRoute]:
    out = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):  # FastAPI's included routers
            out += _api_routes(route.original_router.routes)
    return out


def _routes(app) -> list[tuple[str, str, str | None]]:
    out = []
    for route in _api_routes(app.routes):
        for method in route.methods:
            out.append((method, route.path, _permission(route)))
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "nwb" if m.group(1) == "kind" else "1", path)


def test_every_route_but_login_declares_a_permission(app):
    routes = _routes(app)
    assert len(routes) > 30
    unguarded = [(m, p) for m, p, perm in routes if perm is None and (m, p) not in PUBLIC]
    assert unguarded == []


def test_no_route_is_reachable_without_authentication(app, helpers):
    anonymous = helpers.Client(app, None)
    for method, path, _ in _routes(app):
        if (method, path) in PUBLIC:
            continue
        response = anonymous.request(method, _concrete(path), json={})
        # pages redirect to the login page, the API answers 401: neither runs the handler
        assert response.status_code in (401, 303), (method, path, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"] == "/login"


@pytest.mark.parametrize("role", ROLES)
def test_role_x_route_matrix(app, clients, role):
    """Each role gets 403 exactly on the routes whose permission it lacks (with a valid CSRF
    token, so only the role decides); on the others the handler runs (any answer but 401/403)."""
    client = clients[role]
    checked = 0
    for method, path, permission in _routes(app):
        if (method, path) in PUBLIC or path == "/api/logout":
            continue
        response = client.request(method, _concrete(path), json={})
        if role in PERMISSIONS[permission]:
            assert response.status_code not in (401, 403), (role, method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)
        checked += 1
    assert checked > 30


def test_role_rules_as_the_issue_states():
    assert PERMISSIONS["program.approve"] == {"clinician"}
    assert "engineer" not in PERMISSIONS["session.run_patient"]
    assert "engineer" in PERMISSIONS["device.edit"] and "engineer" in PERMISSIONS["program.edit"]
    auditor_can = {p for p, roles in PERMISSIONS.items() if "auditor" in roles}
    assert auditor_can == {"read", "audit.read", "export"}  # reads everything, changes nothing
    assert PERMISSIONS["audit.read"] == {"auditor"}


def test_csrf_is_required_on_state_changing_requests(app, clients):
    client = clients["clinician"]
    body = {"pseudonym": "P-9", "kind": "human", "injury_level": "T4", "ais": "A"}
    missing = client.http.post("/api/patients", json=body)  # no header
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    wrong = client.http.post("/api/patients", json=body, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    assert client.post("/api/patients", json=body).status_code == 201


def test_cookie_is_httponly_samesite_and_expires(app, helpers):
    client = helpers.Client(app, None)
    response = client.post("/api/login", json={"username": "auditor", "password": helpers.PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=28800" in cookie


def test_login_is_throttled_after_repeated_failures(app, helpers):
    client = helpers.Client(app, None)
    codes = [
        client.post(
            "/api/login", json={"username": "engineer", "password": "wrong-one"}
        ).status_code
        for _ in range(6)
    ]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    # even the right password is refused while throttled
    right = client.post("/api/login", json={"username": "engineer", "password": helpers.PASSWORD})
    assert right.status_code == 429


def test_logout_ends_the_session(app, clients):
    client = clients["researcher"]
    assert client.get("/api/me").status_code == 200
    assert client.post("/api/logout").status_code == 200
    assert client.get("/api/me").status_code == 401


def test_passwords_are_stored_as_argon2_hashes(app, helpers):
    from sqlalchemy import select

    from openbsi.web.models import User

    with app.state.sessions() as db:
        hashes = [u.password_hash for u in db.scalars(select(User))]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert all(helpers.PASSWORD not in h for h in hashes)
