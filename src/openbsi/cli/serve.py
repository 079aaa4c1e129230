"""`openbsi serve`, `openbsi admin create-user`, `openbsi audit verify`: the clinic app."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import typer

from openbsi.cli.apps import UserError, app, console

admin_app = typer.Typer(help="Clinic app administration.", no_args_is_help=True)
audit_app = typer.Typer(help="The clinic app's audit trail.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(audit_app, name="audit")

DATA_DIR = Path("clinic-data")


def _settings(data_dir: Path, db: str | None):
    from openbsi.web.app import Settings

    if db is not None and not db.startswith(("sqlite", "postgresql")):
        raise UserError(f"--db must be a sqlite:/// or postgresql+psycopg:// URL, got {db!r}")
    return Settings(data_dir=data_dir, db_url=db)


def _engine(data_dir: Path, db: str | None):
    from openbsi.web.db import make_engine, migrate, session_factory

    settings = _settings(data_dir, db)
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.url)
    migrate(engine)
    return session_factory(engine)


@app.command()
def serve(
    data_dir: Path = typer.Option(DATA_DIR, "--data-dir", help="Database, runs and exports."),
    db: str | None = typer.Option(None, "--db", help="postgresql+psycopg://... (default SQLite)"),
    host: str = typer.Option("127.0.0.1", "--host", help="Bind address (loopback by default)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Run OpenBSI Clinic (FastAPI + uvicorn); sessions run in their own processes."""
    import uvicorn

    from openbsi.web.app import create_app

    application = create_app(_settings(data_dir, db))
    console.print(f"OpenBSI Clinic on http://{host}:{port} (data in {data_dir})")
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


@admin_app.command("create-user")
def create_user(
    name: str = typer.Argument(..., help="User name (log-in)."),
    role: str = typer.Option(..., "--role", help="clinician | engineer | researcher | auditor"),
    full_name: str | None = typer.Option(None, "--full-name", help="Printed on signatures."),
    data_dir: Path = typer.Option(DATA_DIR, "--data-dir", help="The app's data dir."),
    db: str | None = typer.Option(None, "--db", help="postgresql+psycopg://... (default SQLite)"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read it from stdin."),
    json_out: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
) -> None:
    """Create an account (the first one, typically); the password is prompted for."""
    from sqlalchemy import select

    from openbsi.web import audit
    from openbsi.web.models import ROLES, User, utc_now
    from openbsi.web.security import hash_password

    if role not in ROLES:
        raise UserError(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    if not 1 <= len(name) <= 64 or not name.replace("-", "").replace("_", "").isalnum():
        raise UserError(f"NAME: 1-64 letters, digits, - or _, got {name!r}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise UserError("password: the two entries differ")
    password_hash = hash_password(password)  # ValueError names the length limit
    factory = _engine(data_dir, db)
    with factory() as session:
        if session.scalar(select(User).where(User.username == name)) is not None:
            raise UserError(f"NAME: user {name!r} already exists")
        user = User(
            username=name,
            full_name=full_name or name,
            role=role,
            password_hash=password_hash,
            active=True,
            created_at=utc_now(),
        )
        session.add(user)
        session.flush()
        audit.record(
            session,
            "admin-cli",
            "create",
            "user",
            user.id,
            new={"username": name, "role": role, "full_name": user.full_name},
        )
    verdict = {"created": name, "role": role}
    print(json.dumps(verdict)) if json_out else console.print(f"created {name} ({role})")


@audit_app.command("verify")
def verify(
    data_dir: Path = typer.Option(DATA_DIR, "--data-dir", help="The app's data dir."),
    db: str | None = typer.Option(None, "--db", help="postgresql+psycopg://... (default SQLite)"),
    json_out: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
) -> None:
    """Check the audit trail's hash chain; exit 1 when a row was edited, removed or reordered."""
    from openbsi.web.audit import verify_chain

    factory = _engine(data_dir, db)
    with factory() as session:
        result = verify_chain(session)
    if json_out:
        print(json.dumps(result))
    elif result["ok"]:
        console.print(f"audit trail intact: {result['entries']} entries, head {result['head']}")
    else:
        for problem in result["problems"]:
            console.print(f"[red]tampered:[/red] {problem}")
    if not result["ok"]:
        raise typer.Exit(1)
