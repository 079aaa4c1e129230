"""Migrations and the audit chain on PostgreSQL: a throw-away cluster made by initdb + pg_ctl in a
temporary directory (Debian's `postgresql` package; skipped when its binaries are absent)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from openbsi.web.audit import record, verify_chain
from openbsi.web.db import downgrade, make_engine, migrate, session_factory

pytestmark = pytest.mark.slow


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: use the package's `postgres` account."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    bin_dir = _bin_dir()
    if bin_dir is None:
        why = "PostgreSQL binaries not installed (apt-get install postgresql)"
        if os.environ.get("OPENBSI_REQUIRE_SYSTEM_DEPS") == "1":  # CI: run them, never skip
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL")
    root = tmp_path_factory.mktemp("pg")
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        os.chmod(root.parent, 0o755)
        os.chmod(root.parent.parent, 0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*command: str) -> None:
        subprocess.run(
            _as_server_user([str(bin_dir / command[0]), *command[1:]]),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        run("pg_ctl", "-D", str(data), "-m", "immediate", "stop")


def test_migrations_up_and_down_on_postgresql(postgres_url):
    engine = make_engine(postgres_url)
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"users", "program_versions", "signatures", "sessions", "audit_entries"} <= tables
    downgrade(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    engine.dispose()


def test_audit_chain_and_triggers_on_postgresql(postgres_url):
    engine = make_engine(postgres_url)
    migrate(engine)
    factory = session_factory(engine)
    with factory() as db:
        for i in range(3):
            record(db, "clinician", "create", "patient", i, new={"n": i})
        assert verify_chain(db)["ok"]
    with engine.connect() as connection, pytest.raises(Exception, match="append-only"):
        connection.execute(text("UPDATE audit_entries SET username = 'mallory'"))
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_no_change"))
        connection.execute(text("UPDATE audit_entries SET reason = 'x' WHERE id = 2"))
    with factory() as db:
        verdict = verify_chain(db)
    assert verdict["ok"] is False and "entry 2" in verdict["problems"][0]
    engine.dispose()
