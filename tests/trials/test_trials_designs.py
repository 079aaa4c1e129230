"""Crossover and run-in designs: sequences, period-relative endpoints, within-patient analysis."""

from __future__ import annotations

import pytest

from openbsi.inputs import InputError
from openbsi.trials.protocol import parse_protocol
from openbsi.trials.run import run_protocol
from openbsi.trials.simulate import sim_arms

CROSSOVER = """\
name: crossover-lumbar-vs-epidural
seed: 11
duration_days: 150
design: {kind: crossover, period_days: 60, washout_days: 30, stratify_by: [ais]}
population:
  ais: [C, D]
  nli_from: C4
  nli_to: T12
  age_years: [18, 75]
  days_since_injury: [365, 36500]
enrolment: {n: 40}
dropout: {fraction: 0.1}
arms:
  - name: lumbar
    interventions:
      - {therapy: transcutaneous_lumbar, start_day: 0, end_day: 60, dose: {sessions_per_week: 3}}
  - name: practice
    interventions:
      - {therapy: rehabilitation, start_day: 0, end_day: 60, dose: {sessions_per_week: 3}}
visits: [0, 60, 90, 150]
assessments: [lems, wisci]
endpoints:
  - {name: lems_2, measure: lems, mcid: 2, from_day: 0, to_day: 60}
primary: lems_2
success: {rule: difference_lower_ci_above, threshold: 0.0, arm: lumbar, versus: practice}
"""


def test_crossover_builds_two_sequences_and_a_within_patient_comparison(fake_course) -> None:
    protocol = parse_protocol(CROSSOVER.encode(), source="x.yaml")
    arms = sim_arms(protocol)
    assert [a.name for a in arms] == ["lumbar_then_practice", "practice_then_lumbar"]
    second = arms[0].plan.interventions[1]
    assert (second.therapy, second.start_day, second.end_day) == ("rehabilitation", 90, 150)
    run = run_protocol(protocol, simulate=fake_course, batch_size=8, longitudinal=False)
    s = run.summary
    assert set(s["arms"]) == {"lumbar", "practice"}
    assert s["arms"]["lumbar"]["n_enrolled"] == 40
    (comp,) = s["comparisons"]
    assert comp["kind"] == "crossover" and comp["arm"] == "lumbar"
    assert comp["responders"]["lems_2"]["n"] <= 40
    assert s["success"]["comparison"] == "crossover"
    seq = run.cohort.allocation
    assert 15 <= (seq == 0).sum() <= 25  # randomised to the two sequences


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("end_day: 60, dose: {sessions_per_week: 3}}\n  - name: practice",
         "end_day: 80, dose: {sessions_per_week: 3}}\n  - name: practice",
         "arms[0].interventions[0].end_day"),
        ("visits: [0, 60, 90, 150]", "visits: [0, 60, 150]", "visits"),
        ("period_days: 60", "period_days: 100", "design.period_days"),
    ],
)  # fmt: skip
def test_crossover_errors_name_the_field(old: str, new: str, field: str) -> None:
    with pytest.raises(InputError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_protocol(CROSSOVER.replace(old, new, 1).encode(), source="x.yaml")


def test_run_in_counterfactual_gives_a_paired_difference(small, fake_course) -> None:
    protocol = small("uplift", n=20)
    run = run_protocol(protocol, simulate=fake_course, longitudinal=False)
    (comp,) = run.summary["comparisons"]
    assert comp["kind"] == "paired_in_silico"
    assert {comp["arm"], comp["versus"]} == {"uplift", "practice_only"}
    both = comp["responders"]["both"]
    assert both["ci95"][0] <= both["difference"] <= both["ci95"][1]


@pytest.mark.parametrize("design", ["uplift", "bsi-walking", "combination", "injectable-timing"])
def test_every_example_analyses_end_to_end(small, fake_course, design: str) -> None:
    protocol = small(design, n=30)
    summary = run_protocol(protocol, simulate=fake_course).summary
    assert summary["success"]["met"] in (True, False)
    model = summary["longitudinal"]
    assert "error" not in model and model["n_patients"] > 5
    assert set(summary["consort"]["arms"]) == {a.name for a in protocol.trial_arms}


def test_mixed_model_sees_the_faster_arm(small, fake_course) -> None:
    protocol = small("bsi-walking", n=300, **{"versus: epidural": "versus: rehabilitation"})
    model = run_protocol(protocol, simulate=fake_course).summary["longitudinal"]
    term = model["terms"]["C(arm, Treatment(reference='rehabilitation'))[T.bsi]:months"]
    assert 0 < term["ci95"][0] <= term["estimate"] <= term["ci95"][1]  # true: +0.51 per month
