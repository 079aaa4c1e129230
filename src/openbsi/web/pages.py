"""HTML pages (Jinja templates); each one is a thin shell that its script fills from the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from openbsi.web.models import User
from openbsi.web.roles import PERMISSIONS
from openbsi.web.schemas import RecordId
from openbsi.web.security import Auth, current_auth, require

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _page(request: Request, auth: Auth, name: str, **context) -> HTMLResponse:
    user = auth.user
    can = {p: user.role in roles for p, roles in PERMISSIONS.items()}
    return templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": auth.login.csrf_token, "can": can, **context},
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request):
    return templates.TemplateResponse(request, "login.html", {})


def _simple(path: str, template: str, permission: str = "read"):
    def view(
        request: Request, auth: Auth = Depends(current_auth), _: User = Depends(require(permission))
    ):
        return _page(request, auth, template)

    router.add_api_route(path, view, methods=["GET"], response_class=HTMLResponse)


_simple("/", "sessions.html")
_simple("/patients", "patients.html")
_simple("/devices", "devices.html")
_simple("/programs", "programs.html")
_simple("/sessions", "sessions.html")
_simple("/audit", "audit.html", "audit.read")


@router.get("/programs/{program_id}", response_class=HTMLResponse)
def program_page(
    program_id: RecordId,
    request: Request,
    auth: Auth = Depends(current_auth),
    _: User = Depends(require("read")),
):
    return _page(request, auth, "program.html", program_id=program_id)


@router.get("/sessions/{session_id}/live", response_class=HTMLResponse)
def live_page(
    session_id: RecordId,
    request: Request,
    auth: Auth = Depends(current_auth),
    _: User = Depends(require("read")),
):
    return _page(request, auth, "live.html", session_id=session_id)


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def review_page(
    session_id: RecordId,
    request: Request,
    auth: Auth = Depends(current_auth),
    _: User = Depends(require("read")),
):
    return _page(request, auth, "review.html", session_id=session_id)
