"""Exports of a session: NWB and BIDS-iEEG carrying the session metadata entered in the app,
and a signed bundle (NWB + the program version + the session's audit entries with their hashes).

Exports are de-identified: the subject is the patient's pseudonym (no name is ever stored) and
the age is in whole years. The bundle's manifest lists the SHA-256 of every file and is signed
with the clinic's Ed25519 key (made on first use in the data dir, readable only by its owner);
the public key travels in the bundle, and verify_bundle checks it all.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from openbsi.web.models import Patient, ProgramVersion, SessionRecord

KINDS = ("nwb", "bids", "bundle")


def session_meta(record: SessionRecord, patient: Patient) -> dict[str, Any]:
    return {
        "subject": patient.pseudonym,
        "subject_sex": record.subject_sex,
        "subject_age": f"P{record.subject_age_years}Y",
        "experimenter": [record.experimenter],
        "institution": record.institution,
    }


def _export_dir(data_dir: Path, record: SessionRecord) -> Path:
    out = Path(data_dir) / "exports" / f"session-{record.id:05d}"
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_nwb_export(record: SessionRecord, meta: dict, out: Path) -> Path:
    from openbsi.store.log_reader import read_log
    from openbsi.store.nwb import write_nwb

    # the subject and study were given to the session (runner.metadata_options): they are in
    # the sealed recording already, and an export never changes what was recorded
    data = read_log(Path(record.run_dir) / "session.obsilog", load_ecog=False)
    return write_nwb(data, out / f"session-{record.id:05d}.nwb")


def _signing_key(data_dir: Path) -> Ed25519PrivateKey:
    path = Path(data_dir) / "keys" / "bundle_ed25519.pem"
    if path.is_file():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build(
    kind: str,
    record: SessionRecord,
    meta: dict,
    version: ProgramVersion,
    audit_entries: list[dict],
    data_dir: Path,
) -> Path:
    out = _export_dir(data_dir, record)
    nwb = write_nwb_export(record, meta, out)
    if kind == "nwb":
        return nwb
    if kind == "bids":
        return _bids_zip(record, meta, nwb, out)
    return _bundle(record, nwb, version, audit_entries, data_dir, out)


def _bids_zip(record: SessionRecord, meta: dict, nwb: Path, out: Path) -> Path:
    from openbsi.store.bids import export_bids

    with tempfile.TemporaryDirectory(dir=out) as tmp:
        root = Path(tmp) / "bids"
        subject = "".join(c for c in meta["subject"] if c.isalnum()) or "01"
        export_bids(nwb, root, subject=subject, session=f"{record.id:05d}")
        _participants(root, subject, meta)
        target = out / f"session-{record.id:05d}-bids"
        archive = shutil.make_archive(str(target), "zip", root)
    return Path(archive)


def _participants(root: Path, subject: str, meta: dict) -> None:
    """participants.tsv with the sex and age entered before recording (BIDS columns)."""
    tsv = root / "participants.tsv"
    age = meta["subject_age"].strip("PY")
    tsv.write_text(f"participant_id\tsex\tage\nsub-{subject}\t{meta['subject_sex']}\t{age}\n")


def _bundle(
    record: SessionRecord,
    nwb: Path,
    version: ProgramVersion,
    audit_entries: list[dict],
    data_dir: Path,
    out: Path,
) -> Path:
    key = _signing_key(data_dir)
    files = {
        "recording.nwb": nwb.read_bytes(),
        "program.yaml": version.yaml_text.encode(),
        "audit.json": json.dumps(audit_entries, indent=1, default=str).encode(),
    }
    manifest = {
        "format": "openbsi-session-bundle-v1",
        "session_id": record.id,
        "program_version": version.number,
        "program_sha256": version.sha256,
        "files": {name: hashlib.sha256(blob).hexdigest() for name, blob in files.items()},
        "audit_head": audit_entries[-1]["sha256"] if audit_entries else None,
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True, indent=1).encode()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    path = out / f"session-{record.id:05d}-bundle.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, blob in files.items():
            archive.writestr(name, blob)
        archive.writestr("manifest.json", manifest_bytes)
        archive.writestr("manifest.sig", key.sign(manifest_bytes).hex())
        archive.writestr("public_key.hex", public.hex())
    return path


def verify_bundle(path: Path, trusted_public_hex: str | None = None) -> dict[str, Any]:
    """Check a bundle's signature and every file's hash: {"ok", "problems"}."""
    problems: list[str] = []
    with zipfile.ZipFile(path) as archive:
        manifest_bytes = archive.read("manifest.json")
        public_hex = archive.read("public_key.hex").decode()
        if trusted_public_hex is not None and public_hex != trusted_public_hex:
            problems.append("signed with a key other than the trusted one")
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(
                bytes.fromhex(archive.read("manifest.sig").decode()), manifest_bytes
            )
        except Exception:
            problems.append("manifest signature does not verify")
        manifest = json.loads(manifest_bytes)
        for name, digest in manifest["files"].items():
            if hashlib.sha256(archive.read(name)).hexdigest() != digest:
                problems.append(f"{name}: SHA-256 differs from the manifest")
    return {"ok": not problems, "problems": problems, "manifest": manifest}
