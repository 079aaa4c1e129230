"""The program editor: field-level violations, charge-density reason, versions and diff,
draft -> validated -> approved with an electronic signature."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbsi.safety.program_check import validate_program
from openbsi.stimulation.program import program_from_dict
from openbsi.web.programs import charge_density_uc_cm2, check_program, parse_yaml


def _ids(records):
    return records["program"]["id"], records["device"]["id"]


def test_unsafe_value_is_refused_at_its_field_with_rule_and_limit(clients, helpers):
    records = helpers.seed_records(clients)
    _, device_id = _ids(records)
    response = clients["engineer"].post(
        "/api/programs/check", json={"device_id": device_id, "yaml_text": helpers.program_text(40)}
    )
    body = response.json()
    assert response.status_code == 200 and body["valid"] is False
    fields = {v["field"]: v for v in body["violations"]}
    hit = fields["states.left_hip[0].amplitude_ma"]
    assert hit["rule"] == "max_amplitude" and hit["limit"] == 12.7 and hit["value"] == 40.0
    assert "<svg" in body["map_svg"]


def test_the_editor_uses_the_same_validation_as_the_cli(helpers):
    text = helpers.program_text(40)
    expected = validate_program(program_from_dict(parse_yaml(text)), backend="paddle")
    check = check_program(text, "paddle", 30.0)
    assert [v["field"] for v in check.violations] == [v.field for v in expected]


def test_schema_errors_name_their_field(helpers):
    text = helpers.program_text().replace("pulse_width_us: 300.0", "pulse_width_us: fast", 1)
    check = check_program(text, "paddle", 30.0)
    assert not check.valid and check.violations[0]["rule"] == "schema"
    assert "pulse_width_us" in check.violations[0]["message"]


def test_a_version_with_violations_cannot_be_validated(clients, helpers):
    program_id, _ = _ids(helpers.seed_records(clients))
    engineer = clients["engineer"]
    v2 = engineer.post(
        f"/api/programs/{program_id}/versions", json={"yaml_text": helpers.program_text(40)}
    )
    assert v2.status_code == 201 and v2.json()["number"] == 2
    refused = engineer.post(f"/api/programs/{program_id}/versions/2/validate", json={})
    assert refused.status_code == 422
    assert refused.json()["detail"]["violations"][0]["field"].startswith("states.left_hip")
    assert engineer.get(f"/api/programs/{program_id}/versions/2").json()["status"] == "draft"


def test_charge_density_above_the_warning_needs_a_recorded_reason(clients, helpers):
    # a lab warning of 5 uC/cm^2: 3.5 mA x 300 us on a 12 mm^2 contact is 8.75 uC/cm^2
    program_id, _ = _ids(helpers.seed_records(clients, warning_uc_cm2=5.0))
    engineer = clients["engineer"]
    version = engineer.get(f"/api/programs/{program_id}/versions/1").json()
    assert version["warnings"] and version["warnings"][0]["rule"] == "charge_density_warning"
    url = f"/api/programs/{program_id}/versions/1/validate"
    assert engineer.post(url, json={}).status_code == 422
    reason = "conservative lab warning; dose as in the approved protocol"
    done = engineer.post(url, json={"charge_reason": reason})
    assert done.status_code == 200 and done.json()["charge_reason"] == reason
    trail = clients["auditor"].get("/api/audit").json()
    assert any(e["action"] == "validate" and e["reason"] == reason for e in trail)


def test_charge_density_formula():
    # 1 mA x 100 us = 0.1 uC on 1 mm^2 = 0.01 cm^2 -> 10 uC/cm^2
    assert math.isclose(charge_density_uc_cm2(1.0, 100.0, 1.0), 10.0)


def test_approval_is_an_electronic_signature(clients, helpers):
    program_id, _ = _ids(helpers.seed_records(clients))
    base = f"/api/programs/{program_id}/versions/1"
    clinician = clients["clinician"]
    sign = {"printed_name": "Claire Clinician", "meaning": "approval", "password": "nope-nope"}
    assert clinician.post(f"{base}/approve", json=sign).status_code == 409  # still a draft
    assert clinician.post(f"{base}/validate", json={}).status_code == 200
    assert clinician.post(f"{base}/approve", json=sign).status_code == 403  # wrong password
    wrong_name = sign | {"printed_name": "Someone Else", "password": helpers.PASSWORD}
    assert clinician.post(f"{base}/approve", json=wrong_name).status_code == 422
    assert (
        clients["engineer"]
        .post(f"{base}/approve", json=sign | {"password": helpers.PASSWORD})
        .status_code
        == 403
    )  # an engineer cannot approve
    signed = clinician.post(f"{base}/approve", json=sign | {"password": helpers.PASSWORD})
    assert signed.status_code == 200
    body = signed.json()
    assert body["status"] == "approved"
    (signature,) = body["signatures"]
    assert signature["printed_name"] == "Claire Clinician" and signature["meaning"] == "approval"
    assert signature["signed_at"] and signature["signed_sha256"] == body["sha256"]
    # approved is final: no second approval, no re-validation
    assert clinician.post(f"{base}/validate", json={}).status_code == 409


def test_versions_and_diff(clients, helpers):
    program_id, _ = _ids(helpers.seed_records(clients))
    engineer = clients["engineer"]
    engineer.post(
        f"/api/programs/{program_id}/versions", json={"yaml_text": helpers.program_text(4.5)}
    )
    diff = engineer.get(f"/api/programs/{program_id}/diff?a=1&b=2").json()["diff"]
    assert "-    amplitude_ma: 3.5" in diff and "+    amplitude_ma: 4.5" in diff
    versions = engineer.get(f"/api/programs/{program_id}").json()["versions"]
    assert [v["number"] for v in versions] == [1, 2]
    # the edit's audit entry keeps the earlier value
    edit = next(e for e in clients["auditor"].get("/api/audit").json() if e["action"] == "edit")
    assert "amplitude_ma: 3.5" in edit["old_value"] and "amplitude_ma: 4.5" in edit["new_value"]


def test_only_an_approved_program_runs_with_a_patient(clients, helpers):
    records = helpers.seed_records(clients)
    program_id, _ = _ids(records)
    human = (
        clients["clinician"]
        .post(
            "/api/patients",
            json={"pseudonym": "H-001", "kind": "human", "injury_level": "T8", "ais": "B"},
        )
        .json()
    )
    clients["clinician"].post(f"/api/programs/{program_id}/versions/1/validate", json={})
    start = {
        "patient_id": human["id"],
        "program_id": program_id,
        "version": 1,
        "seconds": 10,
        "subject_sex": "F",
        "subject_age_years": 40,
        "experimenter": "Doe",
        "institution": "Lab",
    }
    refused = clients["clinician"].post("/api/sessions", json=start)
    assert refused.status_code == 409 and "approved" in refused.json()["detail"]
    engineer = clients["engineer"].post("/api/sessions", json=start)
    assert engineer.status_code == 403  # an engineer never runs on a patient
    missing_metadata = {k: v for k, v in start.items() if k != "experimenter"}
    assert clients["clinician"].post("/api/sessions", json=missing_metadata).status_code == 422


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400) | st.binary(max_size=400).map(lambda b: b.decode("latin-1")))
def test_fuzz_program_text_gives_a_check_never_an_exception(text):
    check = check_program(text or "x", "paddle", 30.0)
    assert check.valid or check.violations
    for violation in check.violations:
        assert violation["field"] and violation["rule"]
