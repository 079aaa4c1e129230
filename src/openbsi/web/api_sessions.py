"""JSON API of sessions: start (a subprocess), live view (SSE), emergency stop, annotations,
review, verification and exports."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from functools import partial
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from openbsi.web import audit, exports, runner
from openbsi.web.models import (
    AuditEntry,
    Device,
    Patient,
    Program,
    ProgramVersion,
    SessionRecord,
    User,
    utc_now,
)
from openbsi.web.roles import allowed
from openbsi.web.schemas import AnnotationIn, EstopIn, RecordId, SessionIn
from openbsi.web.security import _aware, get_db, in_lane, require

router = APIRouter(prefix="/api")
ESTOP_CONFIRM_TIMEOUT_S = 2.0
LIST_CACHE_S = 0.5  # many viewers polling the list share one query per half second
REPORT_FILES = frozenset({"report.html", "metrics.json"})


def session_json(db: Session, record: SessionRecord, *, metrics: bool = True) -> dict:
    patient = db.get(Patient, record.patient_id)
    version = db.get(ProgramVersion, record.version_id)
    program = db.get(Program, version.program_id)
    run_dir = Path(record.run_dir)
    metrics_path = run_dir / "metrics.json"
    return {
        "id": record.id,
        "patient": patient.pseudonym,
        "patient_kind": patient.kind,
        "program": program.name,
        "program_id": program.id,
        "program_version": version.number,
        "program_status": version.status,
        "source": record.source,
        "seconds": record.seconds,
        "status": record.status,
        "exit_code": record.exit_code,
        "started_by": db.get(User, record.started_by).username,
        "started_at": _aware(record.started_at).isoformat(),
        "ended_at": _aware(record.ended_at).isoformat() if record.ended_at else None,
        "metadata": {
            "subject_sex": record.subject_sex,
            "subject_age_years": record.subject_age_years,
            "experimenter": record.experimenter,
            "institution": record.institution,
        },
        "has_log": (run_dir / "session.obsilog").is_file(),
        "has_nwb": (run_dir / "recording.nwb").is_file(),
        "has_report": (run_dir / "report.html").is_file(),
        "metrics": json.loads(metrics_path.read_text())
        if metrics and metrics_path.is_file()
        else None,
        "verification": json.loads(record.verification_json) if record.verification_json else None,
    }


def _record(db: Session, session_id: RecordId) -> SessionRecord:
    record = db.get(SessionRecord, session_id)
    if record is None:
        raise HTTPException(404, f"session {session_id} not found")
    return record


def reconcile(request: Request, db: Session, record: SessionRecord) -> None:
    """A session this server process did not start (the app was restarted while it ran): its
    status follows its process and its run folder."""
    if record.status not in ("starting", "running") or record.id in request.app.state.watched:
        return
    pid_file = Path(record.run_dir) / "session.pid"
    pid = int(pid_file.read_text()) if pid_file.is_file() else None
    if pid is not None and runner.process_alive(pid):
        return
    old = record.status
    record.status = "finished" if (Path(record.run_dir) / "recording.nwb").is_file() else "failed"
    record.ended_at = utc_now()
    audit.record(
        db,
        "system",
        "reconcile",
        "session",
        record.id,
        old={"status": old},
        new={"status": record.status},
        reason="the app restarted while it ran",
    )


@router.get("/sessions")
def list_sessions(
    request: Request, _: User = Depends(require("read")), db: Session = Depends(get_db)
):
    cached = request.app.state.list_cache
    if cached and time.monotonic() - cached[0] < LIST_CACHE_S:
        return cached[1]
    records = db.scalars(select(SessionRecord).order_by(SessionRecord.id.desc()).limit(500)).all()
    for record in records:
        reconcile(request, db, record)
    out = []
    for record in records:
        summary = session_json(db, record, metrics=False)
        del summary["metrics"]
        out.append(summary)
    request.app.state.list_cache = (time.monotonic(), out)
    return out


@router.post("/sessions", status_code=201)
def start_session(
    body: SessionIn,
    request: Request,
    user: User = Depends(require("session.run")),
    db: Session = Depends(get_db),
):
    patient = db.get(Patient, body.patient_id)
    if patient is None:
        raise HTTPException(404, f"patient_id: no patient {body.patient_id}")
    program = db.get(Program, body.program_id)
    if program is None:
        raise HTTPException(404, f"program_id: no program {body.program_id}")
    version = db.scalar(
        select(ProgramVersion).where(
            ProgramVersion.program_id == program.id, ProgramVersion.number == body.version
        )
    )
    if version is None:
        raise HTTPException(404, f"version: program {program.id} has no version {body.version}")
    device = db.get(Device, program.device_id)
    if device.kind != "paddle":
        raise HTTPException(422, f"program_id: sessions run paddle programs, got {device.kind}")
    with_patient = patient.kind == "human" or body.source != "virtual"
    if with_patient and not allowed(user.role, "session.run_patient"):
        raise HTTPException(403, f"role {user.role} may not run a session with a patient")
    if with_patient and version.status != "approved":
        raise HTTPException(
            409, f"version: only an approved program runs with a patient ({version.status})"
        )
    if version.status not in ("validated", "approved"):
        raise HTTPException(409, f"version: status {version.status}; validate it first")
    settings = request.app.state.settings
    key_hex = secrets.token_hex(32)
    record = SessionRecord(
        patient_id=patient.id,
        version_id=version.id,
        source=body.source,
        seconds=body.seconds,
        status="starting",
        run_dir="",
        control_key_hex=key_hex,
        control_seq=0,
        subject_sex=body.subject_sex,
        subject_age_years=body.subject_age_years,
        experimenter=body.experimenter,
        institution=body.institution,
        started_by=user.id,
        started_at=utc_now(),
    )
    db.add(record)
    db.flush()
    run_dir = settings.data_dir / "runs" / f"session-{record.id:05d}"
    run_dir.mkdir(parents=True, exist_ok=False)
    (run_dir / "program.yaml").write_text(version.yaml_text)
    record.run_dir = str(run_dir)
    audit.record(
        db,
        user.username,
        "start",
        "session",
        record.id,
        new={
            "patient": patient.pseudonym,
            "program": program.name,
            "version": version.number,
            "sha256": version.sha256,
            "source": body.source,
            "seconds": body.seconds,
        },
    )
    model = runner.model_path(settings.models, body.seed)
    meta = exports.session_meta(record, patient)
    command = runner.session_command(run_dir, model, body.source, body.seconds, body.seed, meta)
    factory = request.app.state.sessions
    session_id = record.id

    def prepare() -> None:
        runner.prepare_model(settings.models, body.seed)
        _set_status(factory, session_id, "running")

    def on_exit(code: int) -> None:
        _finished(factory, session_id, code)
        request.app.state.watched.discard(session_id)

    request.app.state.watched.add(session_id)
    runner.start_session(run_dir, command, key_hex, on_exit, prepare)
    return session_json(db, record)


def _set_status(factory, session_id: RecordId, status: str) -> None:
    with factory() as db:
        record = db.get(SessionRecord, session_id)
        if record.status in ("starting", "running"):
            record.status = status
            db.commit()


def _finished(factory, session_id: RecordId, code: int) -> None:
    with factory() as db:
        record = db.get(SessionRecord, session_id)
        old = record.status
        record.status = "finished" if code == 0 else "failed"
        record.exit_code = code
        record.ended_at = utc_now()
        audit.record(
            db,
            "system",
            "end",
            "session",
            session_id,
            old={"status": old},
            new={"status": record.status, "exit_code": code},
        )


@router.get("/sessions/{session_id}")
def get_session(
    session_id: RecordId, request: Request, _: User = Depends(require("read")), db=Depends(get_db)
):
    record = _record(db, session_id)
    reconcile(request, db, record)
    return session_json(db, record)


def _run_dir(factory, session_id: RecordId, *, running: bool = False) -> Path:
    with factory() as db:
        record = _record(db, session_id)
        if running:
            _require_running(record)
        return Path(record.run_dir)


@router.get("/sessions/{session_id}/live")
async def live(session_id: RecordId, request: Request, _: User = Depends(require("read"))):
    """Server-sent events from the session's crash-safe log (one JSON object per record).
    A stream may last hours: it holds no database connection and no worker thread."""
    run_dir = await in_lane(request, "read", _run_dir, session_id)
    hub = request.app.state.hub

    async def stream():
        queue = hub.subscribe(session_id, run_dir)
        try:
            yield "retry: 1000\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), 15.0)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield message
                if message.startswith("event: end"):
                    return
        finally:
            hub.unsubscribe(session_id, queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _next_seq(db: Session, record: SessionRecord) -> int:
    record.control_seq += 1
    db.flush()
    return record.control_seq


def _require_running(record: SessionRecord) -> None:
    if record.status not in ("starting", "running"):
        raise HTTPException(409, f"session {record.id} is {record.status}, not running")


def _send(factory, session_id: RecordId, user: str, fields: dict, audit_new, reason) -> int:
    """Sign and append one control line (the next seq), then audit it, in one transaction."""
    with factory() as db:
        record = _record(db, session_id)
        _require_running(record)
        seq = _next_seq(db, record)
        action = fields["action"]
        runner.send_control(
            Path(record.run_dir), record.control_key_hex, {"seq": seq, "user": user, **fields}
        )
        new = {"seq": seq} if audit_new is None else audit_new
        name = "emergency_stop" if action == "estop" else "annotate"
        audit.record(db, user, name, "session", session_id, new=new, reason=reason)
        return seq


@router.post("/sessions/{session_id}/estop")
async def estop(
    session_id: RecordId,
    body: EstopIn,
    request: Request,
    user: User = Depends(require("session.control")),
):
    """All stimulation off: a signed command to the session process, which calls its
    supervisor's emergency stop at its next tick; answered once the stop is in the log. Runs
    on the control lane (own threads and connections): it never queues behind readers."""
    received_ns = time.monotonic_ns()
    run_dir = await in_lane(request, "control", partial(_run_dir, running=True), session_id)
    hub = request.app.state.hub
    confirmation = hub.expect(session_id, run_dir, "estop")  # before the command: no race
    try:
        await in_lane(
            request,
            "control",
            _send,
            session_id,
            user.username,
            {"action": "estop"},
            None,
            body.reason,
        )
    except BaseException:
        hub.forget(session_id, confirmation)
        raise
    event = await hub.wait(session_id, confirmation, ESTOP_CONFIRM_TIMEOUT_S)
    confirmed_ms = (time.monotonic_ns() - received_ns) / 1e6
    if event is None:
        raise HTTPException(504, "the session did not confirm the stop within 2 s")
    already_emitted_ms = max(0.0, (event["value"] - event["t_s"]) * 1e3)
    return {
        "stopped": True,
        "applied_t_s": event["t_s"],  # session time the supervisor's stop was applied
        "zero_output_from_t_s": event["value"],  # after the pulses already scheduled
        "already_scheduled_ms": already_emitted_ms,
        "server_ms": confirmed_ms,
    }


@router.post("/sessions/{session_id}/annotations", status_code=202)
async def annotate(
    session_id: RecordId,
    body: AnnotationIn,
    request: Request,
    user: User = Depends(require("session.control")),
):
    """A note, stored by the session process in its log at the session time t_s refers to."""
    note = {"t_s": body.t_s, "text": body.text}
    fields = {"action": "annotate", **note}
    seq = await in_lane(request, "control", _send, session_id, user.username, fields, note, None)
    return {"queued": True, "seq": seq}


@router.post("/sessions/{session_id}/verify")
def verify(
    session_id: RecordId,
    user: User = Depends(require("recording.verify")),
    db: Session = Depends(get_db),
):
    from openbsi.store.verify import verify_recording

    record = _record(db, session_id)
    run_dir = Path(record.run_dir)
    target = run_dir / "recording.nwb"
    if not target.is_file():
        target = run_dir / "session.obsilog"
    if not target.is_file():
        raise HTTPException(409, f"session {session_id} has no recording yet")
    result = verify_recording(target)
    result = {"file": target.name, "verified_at": utc_now().isoformat(), **result}
    old = json.loads(record.verification_json) if record.verification_json else None
    record.verification_json = json.dumps(result, default=str)
    audit.record(
        db,
        user.username,
        "verify",
        "session",
        session_id,
        old=old and {"ok": old.get("ok")},
        new={"ok": result.get("ok")},
    )
    return result


@router.get("/sessions/{session_id}/files/{name}")
def run_file(
    session_id: RecordId, name: str, _: User = Depends(require("read")), db=Depends(get_db)
):
    """The report, its figures and metrics.json of a run folder (nothing else)."""
    record = _record(db, session_id)
    run_dir = Path(record.run_dir).resolve()
    allowed_name = name in REPORT_FILES or (name.endswith(".png") and "/" not in name)
    path = (run_dir / name).resolve()
    if not allowed_name or path.parent != run_dir or not path.is_file():
        raise HTTPException(404, f"{name}: no such file in the run folder")
    return FileResponse(path)


@router.get("/sessions/{session_id}/export/{kind}")
def export(
    session_id: RecordId,
    kind: str,
    request: Request,
    user: User = Depends(require("export")),
    db: Session = Depends(get_db),
):
    """nwb | bids | bundle (NWB + program version + the session's audit entries, signed)."""
    if kind not in exports.KINDS:
        raise HTTPException(404, f"kind: one of {exports.KINDS}, got {kind!r}")
    record = _record(db, session_id)
    if not (Path(record.run_dir) / "session.obsilog").is_file():
        raise HTTPException(409, f"session {session_id} has no recording yet")
    patient = db.get(Patient, record.patient_id)
    version = db.get(ProgramVersion, record.version_id)
    entries = [
        audit.entry_json(e)
        for e in db.scalars(
            select(AuditEntry)
            .where(AuditEntry.record_type == "session", AuditEntry.record_id == str(session_id))
            .order_by(AuditEntry.id)
        )
    ]
    meta = exports.session_meta(record, patient)
    settings = request.app.state.settings
    path = exports.build(kind, record, meta, version, entries, settings.data_dir)
    audit.record(
        db, user.username, "export", "session", session_id, new={"kind": kind, "file": path.name}
    )
    return FileResponse(path, filename=path.name)
