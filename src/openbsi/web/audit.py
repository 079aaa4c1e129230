"""The audit trail: append-only, hash-chained (21 CFR 11.10(e)).

Each entry holds who, when, action, record, old value, new value and reason, and
sha256 = SHA-256(prev_sha256 + canonical JSON of those fields). Rows are never updated or
deleted (database triggers refuse it); a changed, removed or reordered row breaks the chain,
which `verify_chain` (and `openbsi audit verify`) finds.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openbsi.web.models import AuditEntry, utc_now

GENESIS = hashlib.sha256(b"openbsi-clinic-audit-v1").hexdigest()
FIELDS = (
    "at",
    "username",
    "action",
    "record_type",
    "record_id",
    "old_value",
    "new_value",
    "reason",
)
_lock = threading.Lock()  # one writer at a time in this process (the chain is a sequence)


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_sha256: str, fields: dict[str, Any]) -> str:
    body = json.dumps({k: fields[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_sha256 + body).encode()).hexdigest()


def record(
    db: Session,
    username: str,
    action: str,
    record_type: str,
    record_id: object,
    *,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
) -> AuditEntry:
    """Append one entry and commit it together with whatever the caller changed."""
    with _lock:
        last = db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        prev = last.sha256 if last is not None else GENESIS
        fields = {
            "at": utc_now().isoformat(),
            "username": username,
            "action": action,
            "record_type": record_type,
            "record_id": str(record_id),
            "old_value": _json(old),
            "new_value": _json(new),
            "reason": reason,
        }
        entry = AuditEntry(**fields, prev_sha256=prev, sha256=entry_hash(prev, fields))
        db.add(entry)
        db.commit()
        return entry


def verify_chain(db: Session) -> dict[str, Any]:
    """{"ok", "entries", "problems"}: every link recomputed from the stored fields."""
    problems: list[str] = []
    prev = GENESIS
    count = 0
    for entry in db.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        count += 1
        fields = {k: getattr(entry, k) for k in FIELDS}
        if entry.prev_sha256 != prev:
            problems.append(f"entry {entry.id}: previous hash does not match (a row removed?)")
        if entry_hash(entry.prev_sha256, fields) != entry.sha256:
            problems.append(f"entry {entry.id}: contents do not match their hash (edited)")
        prev = entry.sha256
    return {"ok": not problems, "entries": count, "head": prev, "problems": problems}


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {k: getattr(entry, k) for k in ("id", *FIELDS, "prev_sha256", "sha256")}
