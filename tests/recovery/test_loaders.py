"""Patient / plan YAML and graft-lot potency files: valid objects or one clean InputError."""

from __future__ import annotations

import contextlib
import json
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbsi.inputs import InputError
from openbsi.recovery import PatientSpec, Plan, read_lot_potency
from openbsi.recovery.loaders import load_patient, load_plan, parse_patient, parse_plan
from openbsi.recovery.potency import parse_lot_potency

EXAMPLES = resources.files("openbsi.recovery") / "examples"
LOT = {
    "lot": "L-042", "spec_version": "1.0", "released": True, "differentiation_day": 10.0,
    "purity_fraction": 0.9, "v0_v2_fraction": 0.35, "functional": True,
    "viability_fraction": 0.85, "sha256_of_certificate": "ab" * 32,
}  # fmt: skip


def test_examples_load():
    patient = load_patient(EXAMPLES / "patient.yaml")
    assert isinstance(patient, PatientSpec) and patient.nli == "T8" and patient.ais == "C"
    plan = load_plan(EXAMPLES / "plan.yaml")
    assert isinstance(plan, Plan) and [i.therapy for i in plan.interventions] == [
        "rehabilitation", "bsi"]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("patient_id: a\nnli: X9\nais: C\nage_years: 3\ndays_since_injury: 1\n", "nli"),
        ("patient_id: a\nnli: T8\nais: F\nage_years: 3\ndays_since_injury: 1\n", "ais"),
        ("patient_id: a\nnli: T8\nais: C\nage_years: 300\ndays_since_injury: 1\n", "age_years"),
        ("patient_id: a\nnli: T8\nais: C\nage_years: 30\n", "days_since_injury"),
        ("patient_id: a\nnli: T8\nais: C\nage_years: 30\ndays_since_injury: 1\nfoo: 1\n", "foo"),
        ("patient_id: a\nnli: T8\nais: C\nage_years: 30\ndays_since_injury: 1\nlems: 51\n", "lems"),
    ],
)
def test_bad_patient_names_the_field(tmp_path, text, field):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_patient(path)
    assert info.value.field == field
    assert "\n" not in str(info.value)


def test_plan_reads_lot_potency(tmp_path):
    (tmp_path / "lot").mkdir()
    (tmp_path / "lot" / "potency.json").write_text(json.dumps(LOT))
    (tmp_path / "plan.yaml").write_text(
        "interventions:\n  - therapy: ipsc_progenitors\n    start_day: 3\n"
        "    dose: {dose_cells: 2000000}\n    lot_potency: lot/potency.json\n"
    )
    plan = load_plan(tmp_path / "plan.yaml")
    potency = plan.interventions[0].dose["potency"]
    assert potency == pytest.approx(read_lot_potency(tmp_path / "lot" / "potency.json").potency)
    assert 0.5 < potency < 1.0


def test_unreleased_or_late_lot(tmp_path):
    with pytest.raises(InputError, match="not released"):
        parse_lot_potency({**LOT, "released": False}, source="potency.json")
    late = parse_lot_potency({**LOT, "differentiation_day": 40.0}, source="potency.json")
    assert late.potency == 0.0
    early = parse_lot_potency({**LOT, "differentiation_day": 10.0}, source="potency.json")
    mid = parse_lot_potency({**LOT, "differentiation_day": 20.0}, source="potency.json")
    assert early.potency > mid.potency > 0.0
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError):
        read_lot_potency(tmp_path / "bad.json")
    with pytest.raises(InputError):
        read_lot_potency(tmp_path / "missing.json")


def test_lot_potency_refused_for_other_therapies():
    data = {"interventions": [{"therapy": "rehabilitation", "start_day": 0, "lot_potency": "x"}]}
    with pytest.raises(InputError, match="no graft lot"):
        parse_plan(data, source="plan.yaml")


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
)  # fmt: skip
_keys = st.sampled_from(
    ["patient_id", "nli", "ais", "age_years", "days_since_injury", "sex", "era", "uems", "lems",
     "interventions", "therapy", "start_day", "end_day", "dose", "dose_cells", "steps_per_session",
     "x"]
)  # fmt: skip
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=6)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=500, suppress_health_check=[HealthCheck.too_slow])
@given(_values)
def test_fuzz_patient_and_plan(value):
    """Any parsed YAML value: a valid object or a clean InputError, never another exception."""
    for parse in (parse_patient, parse_plan):
        try:
            out = parse(value, source="fuzz.yaml")
        except InputError as error:
            assert "\n" not in str(error) and str(error).startswith("fuzz.yaml")
        else:
            assert isinstance(out, PatientSpec | Plan)


@settings(max_examples=200, deadline=500)
@given(st.binary(max_size=300))
def test_fuzz_yaml_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fz") / "f.yaml"
    path.write_bytes(data)
    for load in (load_patient, load_plan):
        with contextlib.suppress(InputError):
            load(path)


@settings(max_examples=200, deadline=500)
@given(st.dictionaries(st.sampled_from(list(LOT)), _scalars, max_size=9))
def test_fuzz_lot(value):
    try:
        lot = parse_lot_potency({**LOT, **value}, source="potency.json")
    except InputError:
        return
    assert 0.0 <= lot.potency <= 1.0
