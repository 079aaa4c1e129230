"""Protocol schema: the shipped examples are valid; invalid fields are refused naming the field."""

from __future__ import annotations

import pytest

from openbsi.inputs import InputError
from openbsi.trials.examples import EXAMPLES, example_bytes
from openbsi.trials.protocol import parse_protocol


@pytest.mark.parametrize("design", sorted(EXAMPLES))
def test_examples_are_valid(design: str) -> None:
    protocol = parse_protocol(example_bytes(design), source=f"{design}.yaml")
    assert protocol.primary in [e.name for e in protocol.endpoints]
    assert len(protocol.sha256) == 64


def test_uplift_example_matches_the_published_design() -> None:
    p = parse_protocol(example_bytes("uplift"))
    assert p.design.kind == "single_arm_run_in" and p.design.run_in_days == 60
    assert p.population.ais == ("B", "C", "D")
    assert (p.population.nli_from, p.population.nli_to) == ("C2", "C8")
    assert p.population.age_years == (22.0, 75.0)
    assert p.population.days_since_injury[0] == 365
    assert [e.name for e in p.endpoints] == ["strength", "function", "both"]
    assert all(e.from_day == 60 for e in p.endpoints if not e.all_of)


def _mutated(design: str, old: str, new: str) -> bytes:
    text = example_bytes(design).decode()
    assert old in text, old
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("design", "old", "new", "field"),
    [
        ("uplift", "dose: {sessions_per_week: 4.5, hours_per_session: 1.0}",
         "dose: {sessions_per_week: -2, hours_per_session: 1.0}",
         "arms[0].interventions[0].dose.sessions_per_week"),
        ("bsi-walking", "therapy: epidural_paddle", "therapy: epidural_magic",
         "arms[1].interventions[1].therapy"),
        ("uplift", "visits: [0, 30, 60, 90, 120]", "visits: [0, 30, 60, 90, 120, 400]",
         "visits[5]"),
        ("uplift", "kind: single_arm_run_in", "kind: adaptive", "design.kind"),
        ("uplift", "mcid: 4", "mcid: -4", "endpoints[1].mcid"),
        ("uplift", "to_day: 120", "to_day: 100", "endpoints[0].to_day"),
        ("uplift", "nli_to: C8", "nli_to: X9", "population.nli_to"),
        ("uplift", "primary: both", "primary: everything", "primary"),
        ("combination", "dose_cells: 2000000", "dose_cells: -1.0", "dose.dose_cells"),
        ("uplift", "seed: 2024", "seed: 2024\nsneaky: 1", "sneaky"),
        ("uplift", "end_day: 120\n        dose: {sessions_per_week: 4.5, hours_per_session: 1.0}\n"
         "      - therapy: transcutaneous", "end_day: 130\n        dose: {sessions_per_week: 4.5,"
         " hours_per_session: 1.0}\n      - therapy: transcutaneous",
         "arms[0].interventions[0].end_day"),
    ],
)  # fmt: skip
def test_invalid_field_is_refused_naming_it(design: str, old: str, new: str, field: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_protocol(_mutated(design, old, new), source="bad.yaml")
    message = str(caught.value)
    assert message.startswith("bad.yaml")
    assert field in message
    assert "\n" not in message


def test_sha256_is_of_the_exact_bytes() -> None:
    import hashlib

    data = example_bytes("uplift")
    assert parse_protocol(data).sha256 == hashlib.sha256(data).hexdigest()
    assert parse_protocol(data + b"\n# comment\n").sha256 != parse_protocol(data).sha256
