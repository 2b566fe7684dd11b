"""Property: any scenario document either fails validation with a message naming a key, or
runs to finite metrics. Documents mix valid and invalid values, types and nesting."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from kds_sim.analysis import runner
from kds_sim.io.scenario_files import ScenarioError, load_scenario
from kds_sim.model.scenario import Scenario


def _schema_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every dotted key of the plain sections (interventions are covered elsewhere)."""
    keys = []
    for name, field in model.model_fields.items():
        if name in ("intervention_effects", "interventions", "calibration"):
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _schema_keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


KEYS = [k for k in _schema_keys(Scenario) if not k.startswith(("run.", "network.", "name"))]
KEYS += ["network.peer_degree", "network.peer_rewiring", "network.using_ties_dispersion"]
FIXED = {"run": {"horizon_days": 20, "replicates": 2}, "population": {"size": 30}}

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=0, max_value=1),
    st.integers(min_value=-5, max_value=10),
    st.booleans(),
    st.text(max_size=5),
    st.dictionaries(st.sampled_from(["mean", "sd", "x"]), st.floats(0, 1), max_size=2),
)
documents = st.dictionaries(
    st.one_of(st.sampled_from(KEYS), st.sampled_from(["behaviour.nope", "group.capacity.x"])),
    values,
    max_size=4,
)


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, last = key.split(".")
        node = data
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # a value where a section is: keep the value
                break
            node = child
        else:
            node[last] = value
    for section, fixed in FIXED.items():
        if isinstance(data.get(section, {}), dict):
            data[section] = {**data.get(section, {}), **fixed}
    return data


@settings(
    max_examples=40,
    database=None,  # no .hypothesis folder in the work tree
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(flat=documents)
def test_a_scenario_document_fails_cleanly_or_runs_to_finite_metrics(tmp_path, flat):
    data = _nest(flat)
    path = tmp_path / "generated.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    try:
        scenario = load_scenario(path)
    except ScenarioError as err:
        message = str(err)
        assert message.startswith(str(path.resolve())) or "command-line" in message
        assert any(key.split(".")[0] in message for key in flat)  # names the key at fault
        return
    for key in KEYS:
        node: Any = scenario
        for part in key.split("."):
            node = getattr(node, part)
        if isinstance(node, float):
            assert math.isfinite(node), key
    result = runner.run(scenario, progress=False)
    for metric in ("relapse_horizon", "lapses_per_person", "use_prevalence_end"):
        assert np.isfinite(result.metrics[metric]).all(), metric
