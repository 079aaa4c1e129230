"""The FastAPI application: create_app(settings) wires the database, the routes and the pages."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from openbsi.web import api_records, api_sessions, pages
from openbsi.web.db import (
    CONTROL_THREADS,
    default_url,
    make_engine,
    migrate,
    session_factory,
)
from openbsi.web.live import LiveHub

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_url: str | None = None
    secure_cookies: bool = False  # True behind TLS; loopback http needs False
    models_dir: Path | None = None  # calibrated decoder models (default: data_dir/models)

    @property
    def models(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def url(self) -> str:
        return self.db_url or default_url(self.data_dir)


def create_app(settings: Settings) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.url)
    migrate(engine)
    app = FastAPI(
        title="OpenBSI Clinic",
        version="0.1.0",
        description="Research use only, not a medical device. Every route but login needs a "
        "session cookie; state-changing requests need the X-CSRF-Token header.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    # the control lane (e-stop, annotations): its own engine and threads (security.in_lane)
    app.state.control_engine = make_engine(settings.url, threads=CONTROL_THREADS)
    app.state.lanes = {
        "read": (app.state.sessions, None),
        "control": (
            session_factory(app.state.control_engine),
            ThreadPoolExecutor(CONTROL_THREADS, thread_name_prefix="obsi-control"),
        ),
    }
    app.state.hub = LiveHub()
    app.state.list_cache = None  # (monotonic s, the session list)
    app.state.watched = set()  # ids of the sessions this process started and watches
    app.include_router(api_records.router)
    app.include_router(api_sessions.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        wants_page = not request.url.path.startswith("/api/") and request.method == "GET"
        if error.status_code == 401 and wants_page:
            return RedirectResponse("/login", status_code=303)
        return JSONResponse(
            {"detail": error.detail},
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        problems = [
            {"field": ".".join(str(p) for p in e["loc"][1:]), "problem": e["msg"]}
            for e in error.errors()
        ]
        return JSONResponse({"detail": problems}, status_code=422)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'self'",
        )
        return response

    return app
