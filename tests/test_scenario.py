"""Scenario files: validation messages a user can act on, `extends` chains, overrides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SCENARIOS, write_toml

from kds_sim.io.scenario_files import ScenarioError, load_scenario, validate
from kds_sim.model.scenario import Scenario


def error_of(path: Path, overrides: dict | None = None) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return str(info.value)


# one test per kind of mistake --------------------------------------------------------------------
def test_unknown_key_names_file_key_and_allowed_keys(tmp_path):
    path = write_toml(tmp_path / "typo.toml", "[group]\nenabled = true\ncoverag = 0.5\n")
    message = error_of(path)
    assert str(path.resolve()) in message
    assert "unknown key 'group.coverag'" in message
    assert "allowed keys in [group]" in message
    allowed = message.split("allowed keys in [group]:", 1)[1]
    assert "coverage" in allowed and "enabled" in allowed


def test_unknown_top_level_section(tmp_path):
    path = write_toml(tmp_path / "typo.toml", "[grup]\nenabled = true\n")
    message = error_of(path)
    assert str(path.resolve()) in message
    assert "'grup'" in message
    assert "top level" in message and "group" in message.split("top level", 1)[1]


def test_wrong_type_names_file_key_value_and_expected_type(tmp_path):
    path = write_toml(tmp_path / "type.toml", '[population]\nsize = "many"\n')
    message = error_of(path)
    assert str(path.resolve()) in message
    assert "population.size" in message
    assert "'many'" in message
    assert "integer" in message


def test_out_of_range_names_file_key_value_and_bound(tmp_path):
    path = write_toml(tmp_path / "range.toml", "[group]\nenabled = true\ncoverage = 1.5\n")
    message = error_of(path)
    assert str(path.resolve()) in message
    assert "group.coverage" in message
    assert "1.5" in message
    assert "less than or equal to 1" in message
    assert "share of recovering people who are members" in message  # the field's meaning


def test_bad_distribution_sd(tmp_path):
    path = write_toml(tmp_path / "sd.toml", "[population]\ncoping = { mean = 0.5, sd = 0.6 }\n")
    message = error_of(path)
    assert str(path.resolve()) in message
    assert "population.coping" in message
    assert "0.6" in message
    assert "sd must be below" in message and "0.500" in message


def test_distribution_mean_out_of_range(tmp_path):
    path = write_toml(tmp_path / "mean.toml", "[population.stress]\nmean = 1.2\nsd = 0.1\n")
    message = error_of(path)
    assert "population.stress.mean" in message and "1.2" in message
    assert "less than 1" in message


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    message = error_of(path)
    assert str(path.resolve()) in message
    assert "not found" in message


def test_extends_to_a_missing_file(tmp_path):
    child = write_toml(tmp_path / "child.toml", 'extends = "parent_gone.toml"\n')
    message = error_of(child)
    assert str((tmp_path / "parent_gone.toml").resolve()) in message
    assert "not found" in message
    assert "extends" in message and str(child.resolve()) in message


def test_extends_cycle(tmp_path):
    a = write_toml(tmp_path / "a.toml", 'extends = "b.toml"\n')
    b = write_toml(tmp_path / "b.toml", 'extends = "c.toml"\n')
    c = write_toml(tmp_path / "c.toml", 'extends = "a.toml"\n')
    message = error_of(a)
    assert "'extends'" in message and "cycle" in message
    for path in (a, b, c):
        assert str(path.resolve()) in message


def test_extends_to_itself(tmp_path):
    a = write_toml(tmp_path / "a.toml", 'extends = "a.toml"\n')
    assert "cycle" in error_of(a)


def test_extends_not_a_string(tmp_path):
    a = write_toml(tmp_path / "a.toml", "extends = 3\n")
    message = error_of(a)
    assert str(a.resolve()) in message and "'extends' = 3" in message
    assert "path of another scenario file" in message


def test_invalid_toml(tmp_path):
    path = write_toml(tmp_path / "broken.toml", "[run\nhorizon_days = 30\n")
    message = error_of(path)
    assert str(path.resolve()) in message
    assert "not valid TOML" in message
    assert "line 1" in message


def test_odd_peer_degree(tmp_path):
    path = write_toml(tmp_path / "odd.toml", "[network]\npeer_degree = 3\n")
    message = error_of(path)
    assert str(path.resolve()) in message
    assert "network.peer_degree" in message
    assert "even" in message and "3" in message


def test_error_in_a_parent_names_the_parent_file(tmp_path):
    parent = write_toml(tmp_path / "parent.toml", "[group]\nenabled = true\ncoverage = 1.5\n")
    child = write_toml(
        tmp_path / "sub" / "child.toml", 'extends = "../parent.toml"\n[population]\nsize = 50\n'
    )
    message = error_of(child)
    assert str(parent.resolve()) in message
    assert str(child.resolve()) not in message


def test_whole_scenario_check_names_the_parent_that_set_the_key(tmp_path):
    parent = write_toml(tmp_path / "parent.toml", "[network]\npeer_degree = 5\n")
    child = write_toml(tmp_path / "child.toml", 'extends = "parent.toml"\n[run]\nseed = 1\n')
    message = error_of(child)
    assert message.startswith(f"{parent.resolve()}: network.peer_degree")
    assert "5" in message


def test_several_mistakes_are_all_reported(tmp_path):
    path = write_toml(tmp_path / "many.toml", "[group]\ncoverage = 1.5\n[run]\nhorizon_days = 0\n")
    message = error_of(path)
    assert "group.coverage" in message and "run.horizon_days" in message


def test_intervention_without_group(tmp_path):
    path = write_toml(tmp_path / "iv.toml", '[[interventions]]\nkind = "work_plan"\n')
    message = error_of(path)
    assert "group.enabled" in message


def test_intervention_beyond_horizon(tmp_path):
    path = write_toml(
        tmp_path / "iv.toml",
        (
            "[run]\nhorizon_days = 30\n[group]\nenabled = true\n"
            '[[interventions]]\nkind = "work_plan"\nstart_day = 40\n'
        ),
    )
    message = error_of(path)
    assert "interventions[0]" in message and "40" in message and "0 to 29" in message


def test_unknown_intervention_kind_names_allowed_kinds(tmp_path):
    path = write_toml(
        tmp_path / "iv.toml",
        (
            "[group]\nenabled = true\n"
            '[[interventions]]\nkind = "work_plan"\n[[interventions]]\nkind = "yoga"\n'
        ),
    )
    message = error_of(path)
    assert "interventions[1].kind" in message and "'yoga'" in message
    assert "relapse_prevention_training" in message


def test_bad_override_names_the_command_line(tmp_path):
    path = write_toml(tmp_path / "ok.toml", "[population]\nsize = 50\n")
    message = error_of(path, {"group.coverage": 2.0})
    assert "command-line override" in message and "group.coverage" in message


def test_validate_dict_errors_are_scenario_errors():
    with pytest.raises(ScenarioError, match=r"run\.engine"):
        validate({"run": {"engine": "turbo"}})


# extends -----------------------------------------------------------------------------------------
def test_extends_merges_child_overrides_and_inherits(tmp_path):
    write_toml(
        tmp_path / "parent.toml",
        (
            'name = "parent"\n[run]\nhorizon_days = 100\nseed = 7\n'
            "[population]\nsize = 250\n[population.coping]\nmean = 0.3\nsd = 0.1\n"
            "[group]\nenabled = true\ncoverage = 0.4\n"
        ),
    )
    child = write_toml(
        tmp_path / "kids" / "child.toml",
        (
            'extends = "../parent.toml"\nname = "child"\n[run]\nhorizon_days = 50\n'
            "[population.coping]\nmean = 0.6\n"
        ),
    )
    scenario = load_scenario(child)
    assert scenario.name == "child"
    assert scenario.run.horizon_days == 50  # overridden
    assert scenario.run.seed == 7  # inherited from the same table
    assert scenario.population.size == 250  # inherited section
    assert scenario.population.coping.mean == 0.6  # overridden inside a nested table
    assert scenario.population.coping.sd == 0.1  # ... whose sibling is inherited
    assert scenario.group.enabled and scenario.group.coverage == 0.4


def test_interventions_are_appended_along_the_chain(tmp_path):
    write_toml(
        tmp_path / "a.toml",
        ('[group]\nenabled = true\n[[interventions]]\nkind = "work_plan"\nstart_day = 0\n'),
    )
    write_toml(
        tmp_path / "b.toml",
        (
            'extends = "a.toml"\n'
            '[[interventions]]\nkind = "relapse_prevention_training"\nstart_day = 7\n'
            '[[interventions]]\nkind = "mentoring"\nstart_day = 10\n'
        ),
    )
    c = write_toml(
        tmp_path / "c.toml",
        ('extends = "b.toml"\n[[interventions]]\nkind = "networking_training"\nstart_day = 20\n'),
    )
    kinds = [(i.kind, i.start_day) for i in load_scenario(c).interventions]
    assert kinds == [
        ("work_plan", 0),
        ("relapse_prevention_training", 7),
        ("mentoring", 10),
        ("networking_training", 20),
    ]
    assert len(load_scenario(tmp_path / "b.toml").interventions) == 3


def test_name_defaults_to_file_stem(tmp_path):
    path = write_toml(tmp_path / "my_scenario.toml", "[population]\nsize = 20\n")
    assert load_scenario(path).name == "my_scenario"


def test_overrides_apply_on_top_of_the_file(tmp_path):
    path = write_toml(tmp_path / "s.toml", "[group]\nenabled = true\ncoverage = 0.3\n")
    scenario = load_scenario(path, {"group.coverage": 0.8, "run.replicates": 5})
    assert scenario.group.coverage == 0.8
    assert scenario.run.replicates == 5


def test_unset_values_take_schema_defaults():
    scenario = validate({})
    assert scenario == Scenario()


# shipped scenarios -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load(path):
    scenario = load_scenario(path)
    assert scenario.name
    if scenario.interventions:
        assert scenario.group.enabled


def test_shipped_capacity_building_inherits_the_assessed_group():
    assessed = load_scenario(SCENARIOS / "group_as_assessed.toml")
    full = load_scenario(SCENARIOS / "capacity_building.toml")
    assert full.group.capacity == assessed.group.capacity
    assert len(full.interventions) > 0 and len(assessed.interventions) == 0
    assert re.fullmatch(r"[a-z_]+", full.name)


def test_an_unnamed_child_takes_its_file_stem_not_its_parents_name(tmp_path):
    parent = tmp_path / "parent.toml"
    parent.write_text('name = "parent_name"\n')
    child = tmp_path / "my_variant.toml"
    child.write_text('extends = "parent.toml"\n[group]\nenabled = true\n')
    assert load_scenario(child).name == "my_variant"
    assert load_scenario(parent).name == "parent_name"
