"""Passwords (argon2), cookie sessions, CSRF and login throttling.

- Passwords: argon2id (argon2-cffi defaults), never stored or logged in clear.
- Cookie sessions: a random 256-bit token in an HttpOnly, SameSite=Strict cookie; only its
  SHA-256 is stored; it expires after SESSION_TTL (and on logout).
- CSRF: every state-changing request (POST, PUT, PATCH, DELETE) must carry the session's CSRF
  token in the X-CSRF-Token header (pages read it from a meta tag); login is the one exception
  (no session exists yet; SameSite=Strict and the throttle cover it).
- Throttling: more than MAX_FAILURES failed logins for a user name or a client within
  FAILURE_WINDOW refuses further attempts (HTTP 429) until the window has passed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import TypeVar

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from openbsi.web.models import LoginFailure, LoginSession, User, utc_now
from openbsi.web.roles import allowed

COOKIE = "obsi_session"
SESSION_TTL = dt.timedelta(hours=8)  # assumption: one clinic shift
MAX_FAILURES = 5  # assumption (OWASP suggests a small number of attempts before a delay)
FAILURE_WINDOW = dt.timedelta(minutes=15)  # assumption
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if not 8 <= len(password) <= 256:
        raise ValueError(f"password: length must be within [8, 256], got {len(password)}")
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes: they were written as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def throttled(db: Session, username: str, client: str) -> bool:
    since = utc_now() - FAILURE_WINDOW
    for column, value in ((LoginFailure.username, username), (LoginFailure.client, client)):
        count = db.scalar(select(func.count()).where(column == value, LoginFailure.at >= since))
        if count >= MAX_FAILURES:
            return True
    return False


def record_failure(db: Session, username: str, client: str) -> None:
    db.add(LoginFailure(username=username[:64], client=client[:64], at=utc_now()))
    db.commit()


def open_session(db: Session, user: User) -> tuple[str, LoginSession]:
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_sha256=_sha(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=utc_now(),
        expires_at=utc_now() + SESSION_TTL,
    )
    db.add(row)
    db.execute(delete(LoginSession).where(LoginSession.expires_at < utc_now()))
    db.commit()
    return token, row


def close_session(db: Session, token: str | None) -> None:
    if token:
        db.execute(delete(LoginSession).where(LoginSession.token_sha256 == _sha(token)))
        db.commit()


def get_db(request: Request):
    db = request.app.state.sessions()
    try:
        yield db
    finally:
        db.close()


class Auth:
    """The logged-in user and their login session (detached: no connection is held)."""

    def __init__(self, user: User, login: LoginSession) -> None:
        self.user = user
        self.login = login


def _lookup(factory: sessionmaker, token_sha256: str) -> Auth | str:
    """The user and login of a token, or why not; opens and closes its own database session
    inside one worker thread, so no connection is held while a request waits for a thread
    (holding one across thread hops deadlocked the pool under 50 clients)."""
    with factory() as db:
        login = db.scalar(select(LoginSession).where(LoginSession.token_sha256 == token_sha256))
        if login is None or _aware(login.expires_at) < utc_now():
            return "session expired; log in again"
        user = db.get(User, login.user_id)
        if user is None or not user.active:
            return "account disabled"
        return Auth(user, login)


async def in_lane(request: Request, lane: str, function: Callable[..., T], *args) -> T:
    """function(session factory, *args) on a worker thread of `lane`: "read" shares AnyIO's
    thread pool with the sync routes; "control" has its own threads and database connections."""
    factory, executor = request.app.state.lanes[lane]
    if executor is None:
        return await anyio.to_thread.run_sync(function, factory, *args)
    return await asyncio.get_running_loop().run_in_executor(executor, function, factory, *args)


async def _authenticate(request: Request, lane: str) -> Auth:
    token = request.cookies.get(COOKIE)
    if not token:
        raise HTTPException(401, "not logged in")
    found = await in_lane(request, lane, _lookup, _sha(token))
    if isinstance(found, str):
        raise HTTPException(401, found)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent.encode(), found.login.csrf_token.encode()):
            raise HTTPException(403, "CSRF token missing or wrong (header X-CSRF-Token)")
    return found


async def current_auth(request: Request) -> Auth:
    """The authenticated user (401 otherwise); CSRF checked on state-changing requests."""
    return await _authenticate(request, "read")


async def control_auth(request: Request) -> Auth:
    """current_auth on the control lane: its own threads and connections, so an emergency
    stop never queues behind readers."""
    return await _authenticate(request, "control")


CONTROL_PERMISSIONS = frozenset({"session.control"})


def require(permission: str):
    """A dependency: the user, if their role holds `permission` (403 otherwise)."""
    source = control_auth if permission in CONTROL_PERMISSIONS else current_auth

    async def dependency(auth: Auth = Depends(source)) -> User:
        if not allowed(auth.user.role, permission):
            raise HTTPException(403, f"role {auth.user.role} may not {permission}")
        return auth.user

    dependency.permission = permission  # read by the role x route matrix test
    return dependency
