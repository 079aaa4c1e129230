"""JSON API: login, patients, devices, programs (editor, versions, diff, signatures), audit."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openbsi.web import audit, security
from openbsi.web.models import (
    AuditEntry,
    Device,
    Patient,
    Program,
    ProgramVersion,
    Signature,
    User,
    utc_now,
)
from openbsi.web.programs import check_program, diff, electrode_map_svg, sha256_text
from openbsi.web.schemas import (
    CheckIn,
    DeviceIn,
    LoginIn,
    PatientIn,
    ProgramIn,
    QueryId,
    RecordId,
    SignIn,
    ValidateIn,
    VersionIn,
)
from openbsi.web.security import get_db, require

router = APIRouter(prefix="/api")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login")
def login(body: LoginIn, request: Request, response: Response, db: Session = Depends(get_db)):
    client = _client(request)
    if security.throttled(db, body.username, client):
        audit.record(db, body.username, "login_throttled", "user", body.username)
        raise HTTPException(429, "too many failed logins; wait 15 minutes")
    user = db.scalar(select(User).where(User.username == body.username))
    if user is None or not user.active or not security.check_password(user, body.password):
        security.record_failure(db, body.username, client)
        audit.record(db, body.username, "login_failed", "user", body.username)
        raise HTTPException(401, "wrong user name or password")
    token, row = security.open_session(db, user)
    audit.record(db, user.username, "login", "user", user.id)
    response.set_cookie(
        security.COOKIE,
        token,
        max_age=int(security.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path="/",
    )
    return {"username": user.username, "role": user.role, "csrf_token": row.csrf_token}


@router.post("/logout")
def logout(
    request: Request,
    response: Response,
    user: User = Depends(require("read")),
    db: Session = Depends(get_db),
):
    security.close_session(db, request.cookies.get(security.COOKIE))
    audit.record(db, user.username, "logout", "user", user.id)
    response.delete_cookie(security.COOKIE, path="/")
    return {"ok": True}


@router.get("/me")
def me(auth: security.Auth = Depends(security.current_auth), _: User = Depends(require("read"))):
    user = auth.user
    return {
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "csrf_token": auth.login.csrf_token,
    }


# ----------------------------------------------------------------------------- records
def patient_json(p: Patient) -> dict:
    return {k: getattr(p, k) for k in ("id", "pseudonym", "kind", "injury_level", "ais", "profile")}


def device_json(d: Device) -> dict:
    return {k: getattr(d, k) for k in ("id", "name", "kind", "profile", "charge_warning_uc_cm2")}


@router.get("/patients")
def list_patients(_: User = Depends(require("read")), db: Session = Depends(get_db)):
    return [patient_json(p) for p in db.scalars(select(Patient).order_by(Patient.id))]


@router.post("/patients", status_code=201)
def create_patient(
    body: PatientIn, user: User = Depends(require("patient.edit")), db: Session = Depends(get_db)
):
    patient = Patient(**body.model_dump(), created_at=utc_now())
    db.add(patient)
    _flush_unique(db, "pseudonym")
    audit.record(db, user.username, "create", "patient", patient.id, new=patient_json(patient))
    return patient_json(patient)


@router.get("/devices")
def list_devices(_: User = Depends(require("read")), db: Session = Depends(get_db)):
    return [device_json(d) for d in db.scalars(select(Device).order_by(Device.id))]


@router.post("/devices", status_code=201)
def create_device(
    body: DeviceIn, user: User = Depends(require("device.edit")), db: Session = Depends(get_db)
):
    device = Device(**body.model_dump(), created_at=utc_now())
    db.add(device)
    _flush_unique(db, "name")
    audit.record(db, user.username, "create", "device", device.id, new=device_json(device))
    return device_json(device)


def _flush_unique(db: Session, field: str) -> None:
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise HTTPException(409, f"{field}: already exists") from None


# ----------------------------------------------------------------------------- programs
def _device(db: Session, device_id: int) -> Device:
    device = db.get(Device, device_id)
    if device is None:
        raise HTTPException(404, f"device_id: no device {device_id}")
    return device


def _program(db: Session, program_id: RecordId) -> Program:
    program = db.get(Program, program_id)
    if program is None:
        raise HTTPException(404, f"program {program_id} not found")
    return program


def _version(db: Session, program_id: RecordId, number: RecordId) -> ProgramVersion:
    version = db.scalar(
        select(ProgramVersion).where(
            ProgramVersion.program_id == program_id, ProgramVersion.number == number
        )
    )
    if version is None:
        raise HTTPException(404, f"program {program_id} has no version {number}")
    return version


def signatures_of(db: Session, version: ProgramVersion) -> list[dict]:
    return [
        {
            "printed_name": s.printed_name,
            "meaning": s.meaning,
            "signed_at": security._aware(s.signed_at).isoformat(),
            "signed_sha256": s.signed_sha256,
        }
        for s in db.scalars(select(Signature).where(Signature.version_id == version.id))
    ]


def version_json(db: Session, version: ProgramVersion, *, text: bool = True) -> dict:
    out = {
        "number": version.number,
        "status": version.status,
        "sha256": version.sha256,
        "violations": json.loads(version.violations_json),
        "warnings": json.loads(version.warnings_json),
        "charge_reason": version.charge_reason,
        "created_at": security._aware(version.created_at).isoformat(),
        "created_by": db.get(User, version.created_by).username,
        "signatures": signatures_of(db, version),
    }
    if text:
        out["yaml_text"] = version.yaml_text
    return out


def _check_json(device: Device, text: str) -> dict:
    check = check_program(text, device.kind, device.charge_warning_uc_cm2)
    return {
        "valid": check.valid,
        "violations": check.violations,
        "warnings": check.warnings,
        "map_svg": electrode_map_svg(device.kind, check.program),
    }


@router.post("/programs/check")
def check(body: CheckIn, _: User = Depends(require("program.edit")), db=Depends(get_db)):
    """Validate a text without saving it (the editor calls this as the user types)."""
    return _check_json(_device(db, body.device_id), body.yaml_text)


@router.get("/programs")
def list_programs(_: User = Depends(require("read")), db: Session = Depends(get_db)):
    out = []
    for program in db.scalars(select(Program).order_by(Program.id)):
        versions = db.scalars(
            select(ProgramVersion)
            .where(ProgramVersion.program_id == program.id)
            .order_by(ProgramVersion.number)
        ).all()
        out.append(
            {
                "id": program.id,
                "name": program.name,
                "device_id": program.device_id,
                "versions": [{"number": v.number, "status": v.status} for v in versions],
            }
        )
    return out


def _new_version(db: Session, program: Program, text: str, user: User) -> ProgramVersion:
    number = (
        db.scalar(
            select(func.max(ProgramVersion.number)).where(ProgramVersion.program_id == program.id)
        )
        or 0
    ) + 1
    checked = _check_json(db.get(Device, program.device_id), text)
    version = ProgramVersion(
        program_id=program.id,
        number=number,
        yaml_text=text,
        sha256=sha256_text(text),
        status="draft",
        violations_json=json.dumps(checked["violations"]),
        warnings_json=json.dumps(checked["warnings"]),
        created_by=user.id,
        created_at=utc_now(),
    )
    db.add(version)
    db.flush()
    return version


@router.post("/programs", status_code=201)
def create_program(
    body: ProgramIn, user: User = Depends(require("program.edit")), db: Session = Depends(get_db)
):
    _device(db, body.device_id)
    program = Program(name=body.name, device_id=body.device_id, created_at=utc_now())
    db.add(program)
    _flush_unique(db, "name")
    version = _new_version(db, program, body.yaml_text, user)
    audit.record(
        db,
        user.username,
        "create",
        "program",
        program.id,
        new={"name": program.name, "version": 1, "sha256": version.sha256},
    )
    return {"id": program.id, "version": version_json(db, version)}


@router.get("/programs/{program_id}")
def get_program(program_id: RecordId, _: User = Depends(require("read")), db=Depends(get_db)):
    program = _program(db, program_id)
    versions = db.scalars(
        select(ProgramVersion)
        .where(ProgramVersion.program_id == program.id)
        .order_by(ProgramVersion.number)
    ).all()
    device = db.get(Device, program.device_id)
    return {
        "id": program.id,
        "name": program.name,
        "device": device_json(device),
        "versions": [version_json(db, v, text=False) for v in versions],
    }


@router.get("/programs/{program_id}/versions/{number}")
def get_version(
    program_id: RecordId, number: RecordId, _: User = Depends(require("read")), db=Depends(get_db)
):
    program = _program(db, program_id)
    version = _version(db, program_id, number)
    return version_json(db, version) | {
        "map_svg": _check_json(db.get(Device, program.device_id), version.yaml_text)["map_svg"]
    }


@router.get("/programs/{program_id}/diff")
def version_diff(
    program_id: RecordId,
    a: QueryId,
    b: QueryId,
    _: User = Depends(require("read")),
    db=Depends(get_db),
):
    old, new = _version(db, program_id, a), _version(db, program_id, b)
    return {"a": a, "b": b, "diff": diff(old.yaml_text, new.yaml_text, f"v{a}", f"v{b}")}


@router.post("/programs/{program_id}/versions", status_code=201)
def add_version(
    program_id: RecordId,
    body: VersionIn,
    user: User = Depends(require("program.edit")),
    db: Session = Depends(get_db),
):
    program = _program(db, program_id)
    version = _new_version(db, program, body.yaml_text, user)
    previous = _version(db, program_id, version.number - 1)
    audit.record(
        db,
        user.username,
        "edit",
        "program",
        program.id,
        old={"version": previous.number, "yaml_text": previous.yaml_text},
        new={"version": version.number, "yaml_text": version.yaml_text},
    )
    return version_json(db, version)


@router.post("/programs/{program_id}/versions/{number}/validate")
def validate_version(
    program_id: RecordId,
    number: RecordId,
    body: ValidateIn,
    user: User = Depends(require("program.edit")),
    db: Session = Depends(get_db),
):
    """draft -> validated: no violation, and a recorded reason for any charge warning."""
    version = _version(db, program_id, number)
    if version.status != "draft":
        raise HTTPException(409, f"status: version {number} is {version.status}, not draft")
    device = db.get(Device, db.get(Program, program_id).device_id)
    checked = _check_json(device, version.yaml_text)
    if checked["violations"]:
        raise HTTPException(422, {"message": "the program has violations", **checked})
    reason = (body.charge_reason or "").strip()
    if checked["warnings"] and len(reason) < 10:
        raise HTTPException(
            422,
            {
                "message": "charge_reason: a reason of at least 10 characters is required above "
                f"the charge-density warning ({device.charge_warning_uc_cm2:g} uC/cm^2)",
                **checked,
            },
        )
    version.status = "validated"
    version.charge_reason = reason or None
    audit.record(
        db,
        user.username,
        "validate",
        "program_version",
        f"{program_id}.{number}",
        old={"status": "draft"},
        new={"status": "validated", "warnings": len(checked["warnings"])},
        reason=reason or None,
    )
    return version_json(db, version)


@router.post("/programs/{program_id}/versions/{number}/approve")
def approve_version(
    program_id: RecordId,
    number: RecordId,
    body: SignIn,
    user: User = Depends(require("program.approve")),
    db: Session = Depends(get_db),
):
    """validated -> approved, with an electronic signature (password re-entered, Part 11.200)."""
    version = _version(db, program_id, number)
    if version.status != "validated":
        raise HTTPException(409, f"status: version {number} is {version.status}, not validated")
    if not security.check_password(user, body.password):
        audit.record(
            db, user.username, "signature_refused", "program_version", f"{program_id}.{number}"
        )
        raise HTTPException(403, "password: wrong password; the signature was not applied")
    if body.printed_name.strip() != user.full_name:
        raise HTTPException(
            422, f"printed_name: must be your name as registered ({user.full_name})"
        )
    signature = Signature(
        version_id=version.id,
        user_id=user.id,
        printed_name=user.full_name,
        meaning=body.meaning,
        signed_sha256=version.sha256,
        signed_at=utc_now(),
    )
    db.add(signature)
    version.status = "approved"
    audit.record(
        db,
        user.username,
        "approve",
        "program_version",
        f"{program_id}.{number}",
        old={"status": "validated"},
        new={
            "status": "approved",
            "signed_by": user.full_name,
            "meaning": body.meaning,
            "sha256": version.sha256,
        },
    )
    return version_json(db, version)


# ----------------------------------------------------------------------------- audit
@router.get("/audit")
def audit_trail(
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
    _: User = Depends(require("audit.read")),
    db: Session = Depends(get_db),
):
    rows = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
    return [audit.entry_json(e) for e in rows]


@router.get("/audit/verify")
def audit_verify(_: User = Depends(require("audit.read")), db: Session = Depends(get_db)):
    return audit.verify_chain(db)
