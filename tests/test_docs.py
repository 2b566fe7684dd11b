"""The generated parameter table and scenario template match the code."""

from pathlib import Path

from kds_sim.io.scenario_files import load_scenario
from kds_sim.model.scenario import Scenario
from kds_sim.report import reference as docs

ROOT = Path(__file__).resolve().parents[1]


def test_parameter_table_is_current():
    text = (ROOT / "docs/parameters.md").read_text(encoding="utf-8")
    assert text == docs.parameter_table(), "regenerate: kds-sim params --out docs/parameters.md"


def test_base_scenario_is_current_and_loads_to_the_defaults():
    text = (ROOT / "scenarios/base.toml").read_text(encoding="utf-8")
    assert text == docs.scenario_template(), (
        "regenerate: kds-sim params --format toml --out scenarios/base.toml"
    )
    loaded = load_scenario(ROOT / "scenarios/base.toml")
    assert loaded.model_dump(exclude={"name"}) == Scenario().model_dump(exclude={"name"})


def test_every_parameter_has_unit_and_source():
    for key, _, extra, doc in docs.entries(Scenario()):
        assert doc, f"{key} has no description"
        assert extra.get("unit"), f"{key} has no unit"
        assert extra.get("source"), f"{key} has no source"
