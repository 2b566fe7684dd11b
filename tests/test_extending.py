"""docs/extending.md works as written: its Python blocks run in order, the new kind is
registered, validated and does what the page says, and the new rule has its direction."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from kds_sim.io.scenario_files import ScenarioError, load_scenario
from kds_sim.model import interventions

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


@pytest.fixture(scope="module")
def page():
    """Execute the page's Python blocks in one namespace; unregister the kind afterwards."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 3
    namespace: dict = {}
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)
        yield namespace
    finally:
        interventions.REGISTRY.pop("family_support", None)


def test_the_new_kind_turns_stigma_into_support(page):
    a, b = page["without"], page["with_sessions"]
    members = a.people.ever_member
    assert members.any()
    # sessions only touch members: everyone else is exactly as without them
    assert np.array_equal(
        a.network.stigmatising_ties[~members], b.network.stigmatising_ties[~members]
    )
    before = a.network.stigmatising_ties[members].sum()
    after = b.network.stigmatising_ties[members].sum()
    assert after < before
    assert b.people.stress_baseline[members].mean() < a.people.stress_baseline[members].mean()
    # ties are moved, not created: each person's community ties are unchanged
    total_a = a.network.stigmatising_ties + a.network.supportive_ties
    total_b = b.network.stigmatising_ties + b.network.supportive_ties
    assert np.array_equal(total_a, total_b)


def test_the_new_kind_is_documented_and_validated(page, tmp_path):
    from kds_sim.report.reference import parameter_table

    table = parameter_table()
    assert "`family_support`" in table
    assert "intervention_effects.family_support.ties_turned" in table
    base = Path(__file__).resolve().parents[1] / "scenarios" / "group_as_assessed.toml"
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'extends = "{base}"\n[intervention_effects.family_support]\nties_turned = -1\n',
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match=r"family_support\.ties_turned = -1"):
        load_scenario(bad)


def test_the_new_rule_has_its_direction(page):
    assert page["tense"] < page["calm"]
    rule, b = page["coping_probability_under_stress"], page["b"]
    from kds_sim.model.rules import coping_probability

    # a zero weight leaves the published rule unchanged
    assert rule(0.5, 0.5, 0.3, 0.9, b) == pytest.approx(coping_probability(0.5, 0.5, 0.3, b))
