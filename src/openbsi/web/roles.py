"""Roles and what each may do: checked on the server for every route (security.require).

clinician: runs sessions (virtual and patient), approves programs, emergency stop.
engineer: edits programs and devices, runs the virtual patient; cannot approve or run on a
patient. researcher: reads, verifies recordings, exports de-identified data.
auditor: reads everything including the audit trail; changes nothing.
"""

from __future__ import annotations

from openbsi.web.models import ROLES

PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "audit.read": frozenset({"auditor"}),
    "patient.edit": frozenset({"clinician"}),
    "device.edit": frozenset({"engineer"}),
    "program.edit": frozenset({"engineer", "clinician"}),
    "program.approve": frozenset({"clinician"}),
    "session.run": frozenset({"clinician", "engineer"}),  # a patient session: clinician only
    "session.run_patient": frozenset({"clinician"}),
    "session.control": frozenset({"clinician", "engineer"}),  # e-stop, annotations
    "recording.verify": frozenset({"clinician", "engineer", "researcher"}),
    "export": frozenset({"clinician", "researcher", "auditor"}),
}


def allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]
