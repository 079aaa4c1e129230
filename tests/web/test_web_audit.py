"""The audit trail: append-only (triggers), hash-chained, tampering found by `openbsi audit
verify`; migrations up and down on SQLite; the session control channel's authentication."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import inspect

from openbsi.runtime.control import ControlChannel, append_command, sign_command
from openbsi.web.db import DB_NAME, downgrade, make_engine, migrate


def _audit_verify(data_dir) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "openbsi", "audit", "verify", "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_audit_tampering_is_detected(app, clients, helpers, data_dir):
    helpers.seed_records(clients)
    intact = _audit_verify(data_dir)
    assert intact.returncode == 0, intact.stderr
    assert json.loads(intact.stdout)["ok"] is True
    db = sqlite3.connect(data_dir / DB_NAME)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit_entries SET username = 'mallory' WHERE id = 2")
    # someone with the database file in hand drops the trigger and edits a row directly
    db.execute("DROP TRIGGER audit_no_update")
    db.execute('UPDATE audit_entries SET new_value = \'{"ais": "E"}\' WHERE id = 6')
    db.commit()
    db.close()
    tampered = _audit_verify(data_dir)
    assert tampered.returncode == 1
    verdict = json.loads(tampered.stdout)
    assert verdict["ok"] is False and "entry 6" in verdict["problems"][0]


def test_a_removed_audit_row_breaks_the_chain(app, clients, helpers, data_dir):
    helpers.seed_records(clients)
    db = sqlite3.connect(data_dir / DB_NAME)
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute("DELETE FROM audit_entries WHERE id = 3")
    db.commit()
    db.close()
    verdict = clients["auditor"].get("/api/audit/verify").json()
    assert verdict["ok"] is False and "entry 4" in verdict["problems"][0]


def test_every_change_is_audited_with_who_what_and_values(app, clients, helpers):
    helpers.seed_records(clients)
    trail = clients["auditor"].get("/api/audit").json()
    creates = {e["record_type"]: e for e in trail if e["action"] == "create"}
    assert creates["patient"]["username"] == "clinician"
    assert json.loads(creates["patient"]["new_value"])["pseudonym"] == "VP-001"
    assert creates["device"]["username"] == "engineer"
    assert all(len(e["sha256"]) == 64 for e in trail)


def test_migrations_up_and_down_on_sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"users", "programs", "program_versions", "signatures", "audit_entries"} <= tables
    migrate(engine)  # idempotent
    downgrade(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert "sessions" in inspect(engine).get_table_names()


def _channel(tmp_path, key=b"k" * 32):
    seen: list = []
    channel = ControlChannel(
        tmp_path / "control.jsonl",
        key,
        on_estop=lambda now, c: seen.append(("estop", now)),
        on_annotate=lambda c: seen.append(("note", c["text"])),
    )
    return channel, seen


def test_control_channel_accepts_only_signed_fresh_commands(tmp_path):
    channel, seen = _channel(tmp_path)
    path = tmp_path / "control.jsonl"
    append_command(path, b"k" * 32, {"seq": 1, "action": "annotate", "text": "a", "user": "u"})
    append_command(path, b"x" * 32, {"seq": 2, "action": "estop", "user": "forger"})  # bad key
    replay = sign_command(b"k" * 32, {"seq": 1, "action": "estop", "user": "u"})  # old seq
    with open(path, "a") as handle:
        handle.write(replay)
        handle.write("not json\n")
        handle.write(sign_command(b"k" * 32, {"seq": 3, "action": "estop", "user": "u"})[:-20])
    channel.poll(5)
    assert seen == [("note", "a")]
    assert channel.refused == 3  # forged, replayed, malformed; the torn line waits
    with open(path, "a") as handle:
        handle.write("\n")  # the torn line completes as garbage: refused, not applied
    channel.poll(6)
    assert seen == [("note", "a")] and channel.refused == 4
    append_command(path, b"k" * 32, {"seq": 4, "action": "estop", "user": "u"})
    channel.poll(7)
    assert seen[-1] == ("estop", 7)
