"""The ensemble engine: each replicate of a batch equals running it alone (runner.simulate,
the vector engine, and so the Mesa agent engine), for any batch size and with rows that carry
different parameter sets."""

from __future__ import annotations

import kernel_cases
import numpy as np
import pandas as pd
import pytest
from conftest import REPO, SCENARIOS, deep_update, make_scenario, write_toml

from kds_sim.analysis import runner
from kds_sim.analysis.runner import simulate
from kds_sim.errors import InputError
from kds_sim.io.scenario_files import load_scenario
from kds_sim.model import rules
from kds_sim.model.ensemble import (
    STAGES,
    Ensemble,
    batch_size,
    simulate_batch,
    simulate_columns,
)
from kds_sim.model.parameters import Behaviour
from kds_sim.model.rules import coefficients
from kds_sim.model.scenario import Scenario

CAPACITY = {
    "group": {"enabled": True, "coverage": 0.3},
    "interventions": [
        {"kind": "work_plan", "start_day": 0},
        {"kind": "relapse_prevention_training", "start_day": 3, "sessions": 4},
        {"kind": "mentoring", "start_day": 0},
        {
            "kind": "recruitment",
            "start_day": 5,
            "target_coverage": 0.6,
            "targeting": "most_engaged",
        },
    ],
}
CHURN = {  # many relapses, re-entries and peer contacts, so every rule fires
    "network": {"peer_degree": 8, "using_ties_mean": 1.0},
    "behaviour": {"hrs_rate_per_using_tie": 0.2, "reentry_rate": 20.0},
}
CASES = {
    "no group": {},
    "group": {"group": {"enabled": True, "coverage": 0.5}},
    "capacity building": CAPACITY,
    "churn with group": {**CHURN, "group": {"enabled": True, "coverage": 0.5}},
    "group stops meeting": {
        "group": {
            "enabled": True,
            "stop_threshold": 2.4,
            "erosion_half_life_min": 15.0,
            "erosion_half_life_max": 30.0,
        },
        "interventions": [{"kind": "mentoring", "start_day": 0, "duration_days": 10}],
    },
}


def assert_same(got: list, expected: list) -> None:
    assert len(got) == len(expected)
    for (daily, people), (daily_ref, people_ref) in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(daily, daily_ref, check_exact=True)
        pd.testing.assert_frame_equal(people, people_ref, check_exact=True)


def alone(scenario: Scenario, seed: int, indices) -> list:
    return [simulate(scenario, seed, i) for i in indices]


@pytest.mark.parametrize("case", CASES)
def test_batch_equals_each_replicate_alone(case):
    scenario = make_scenario(CASES[case], size=60, horizon=50)
    indices = [0, 3, 1, 7]
    assert_same(simulate_batch(scenario, 9, indices), alone(scenario, 9, indices))


@pytest.mark.parametrize("name", ["group_as_assessed", "capacity_building_mentoring"])
def test_shipped_scenarios(name):
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    scenario = scenario.model_copy(
        update={"run": scenario.run.model_copy(update={"horizon_days": 60})}
    )
    assert_same(simulate_batch(scenario, 2, range(3)), alone(scenario, 2, range(3)))


def test_agent_engine_equals_batch():
    scenario = make_scenario({**CHURN, **CAPACITY}, size=30, horizon=30)
    agent = make_scenario({**CHURN, **CAPACITY, "run": {"engine": "agent"}}, size=30, horizon=30)
    assert_same(simulate_batch(scenario, 4, [0, 1]), alone(agent, 4, [0, 1]))


def test_any_batch_size_gives_identical_output():
    """Batches of 1, 7 and all 16 rows: identical tables."""
    scenario = make_scenario({**CHURN, **CAPACITY}, size=50, horizon=40)
    whole = simulate_batch(scenario, 1, range(16))
    assert batch_size(50, 0.0) == 1
    one_by_one = simulate_batch(scenario, 1, range(16), budget_mb=0.0)
    sevens = simulate_batch(scenario, 1, range(16), budget_mb=50 * 7 * 1500 / 1e6)
    assert batch_size(50, 50 * 7 * 1500 / 1e6) == 7
    assert_same(one_by_one, whole)
    assert_same(sevens, whole)


def test_stage_table_is_the_documented_one():
    """docs/model.md section 3 lists ensemble.STAGES, in order."""
    text = (REPO / "docs" / "model.md").read_text(encoding="utf-8")
    table = text.split("<!-- stages:")[1].split("<!-- end: stages -->")[0]
    rows = [line.split("|")[1:3] for line in table.splitlines() if line.startswith("| ")][1:]
    assert [(a.strip(), b.strip()) for a, b in rows] == list(STAGES)
    assert all(callable(getattr(Ensemble, f"stage_{name}")) for name, _ in STAGES)


def test_mesa_batch_run_takes_a_scenario():
    """mesa.batch_run: the scenario as a one-item list (a Scenario is iterable, so batch_run
    would sweep its fields), seeds through `rng` (passed as `seed`); same as KDSModel.run."""
    import mesa

    from kds_sim.model.kds_model import KDSModel

    scenario = make_scenario({"group": {"enabled": True}}, size=30, horizon=10)
    rows = mesa.batch_run(
        KDSModel,
        {"scenario": [scenario]},
        rng=[0, 1],
        max_steps=10,
        number_processes=1,
        display_progress=False,
    )
    last = {row["seed"]: row for row in rows if row["Step"] == 10}
    for seed in (0, 1):
        daily = KDSModel(scenario, seed).run().daily_table()
        assert last[seed]["relapsed"] == daily["relapsed"].iloc[-1]
        assert last[seed]["exposures"] == daily["exposures"].iloc[-1]


def test_rows_with_different_parameters_equal_separate_runs():
    base = {**CHURN, **CAPACITY}
    low = make_scenario(base, size=40, horizon=40)
    high = make_scenario(
        deep_update(
            base,
            {
                "behaviour": {"coping_weight": 3.0, "craving_decay_days": 20.0},
                "group": {"coverage": 0.7, "capacity": {"leadership": 3.5}},
            },
        ),
        size=40,
        horizon=40,
    )
    k = coefficients([low.behaviour, high.behaviour])
    assert k.coping_weight[0] != k.coping_weight[1]
    got = simulate_batch([low, high, high, low], 6, [0, 0, 1, 1])
    expected = [simulate(s, 6, i) for s, i in ((low, 0), (high, 0), (high, 1), (low, 1))]
    assert_same(got, expected)


def test_rows_with_different_behaviour_share_the_vectorised_group():
    base = {**CHURN, **CAPACITY}
    low = make_scenario(base, size=40, horizon=40)
    high = make_scenario(
        deep_update(base, {"behaviour": {"coping_weight": 3.0}}), size=40, horizon=40
    )
    got = simulate_batch([low, high, low], 8, [2, 2, 5])
    expected = [simulate(s, 8, i) for s, i in ((low, 2), (high, 2), (low, 5))]
    assert_same(got, expected)


def test_network_file(tmp_path):
    nodes = (
        "id,role\n" + "".join(f"r{i},recovering\n" for i in range(6)) + "u1,using\ns1,supportive\n"
    )
    edges = (
        "source,target\n" + "".join(f"r{i},r{(i + 1) % 6}\n" for i in range(6)) + "r1,u1\nr2,s1\n"
    )
    write_toml(tmp_path / "nodes.csv", nodes)
    write_toml(tmp_path / "edges.csv", edges)
    path = write_toml(
        tmp_path / "net.toml",
        "[run]\nhorizon_days = 40\n[group]\nenabled = true\n"
        '[network]\nedges_file = "edges.csv"\nnodes_file = "nodes.csv"\n',
    )
    scenario = load_scenario(path)
    assert_same(simulate_batch(scenario, 3, range(3)), alone(scenario, 3, range(3)))


def test_runner_output_is_identical_for_any_task_size_and_executor(monkeypatch):
    from kds_sim.analysis import evaluation

    scenario = make_scenario({**CHURN, **CAPACITY}, size=40, horizon=30, replicates=5)
    whole = runner.run(scenario, progress=False)
    monkeypatch.setattr(evaluation, "ROWS_PER_TASK", 2)  # two replicates per task
    small = runner.run(scenario, progress=False)
    threaded = runner.run(scenario, progress=False, workers=2)
    for other in (small, threaded):
        pd.testing.assert_frame_equal(other.daily, whole.daily, check_exact=True)
        pd.testing.assert_frame_equal(other.people, whole.people, check_exact=True)
    assert_same(
        [
            (d.reset_index(drop=True), p.reset_index(drop=True))
            for (_, d), (_, p) in zip(
                whole.daily.groupby("replicate"), whole.people.groupby("replicate"), strict=True
            )
        ],
        alone(scenario, scenario.run.seed, range(5)),
    )


# The fused kernel (rules.person_day, compiled by numba) -----------------------------------------
@pytest.mark.parametrize("name", list(kernel_cases.cases()))
def test_kernel_reproduces_the_stored_reference_tables(name):
    """Stored outputs (tests/kernel_cases.py): batched and alone, identical to the last bit."""
    daily, people = kernel_cases.stored(name)
    got_daily, got_people = kernel_cases.run(name)
    pd.testing.assert_frame_equal(got_daily, daily, check_exact=True)
    pd.testing.assert_frame_equal(got_people, people, check_exact=True)
    rows = kernel_cases.cases()[name]
    assert_same(
        [simulate(s, kernel_cases.SEED, i) for i, s in enumerate(rows)],
        [
            (
                daily[daily.replicate == i].reset_index(drop=True),
                people[people.replicate == i].reset_index(drop=True),
            )
            for i in range(len(rows))
        ],
    )


def test_agent_engine_reproduces_the_stored_tables():
    name = "open_population_interventions"
    daily, people = kernel_cases.stored(name)
    agent = kernel_cases.cases()[name][0]
    agent = agent.model_copy(update={"run": agent.run.model_copy(update={"engine": "agent"})})
    got_daily, got_people = simulate(agent, kernel_cases.SEED, 0)
    pd.testing.assert_frame_equal(got_daily, daily[daily.replicate == 0], check_exact=True)
    pd.testing.assert_frame_equal(
        got_people, people[people.replicate == 0].reset_index(drop=True), check_exact=True
    )


def test_plain_python_rules_give_the_compiled_tables(monkeypatch):
    """Without numba the same person_day runs as Python: same numbers."""
    monkeypatch.setattr(rules, "kernel", lambda name="loop", compiled=True: rules._advance_people)
    for name in ("rows_with_different_parameters",):
        daily, people = kernel_cases.stored(name)
        got_daily, got_people = kernel_cases.run(name)
        pd.testing.assert_frame_equal(got_daily, daily, check_exact=True)
        pd.testing.assert_frame_equal(got_people, people, check_exact=True)


def _random_people(n: int, seed: int) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = {k: rng.random(n) for k in (*rules.STATE, *rules.TRAITS_READ)}
    p["status"] = rng.integers(0, 4, n).astype(np.int8)
    for k in ("days_abstinent", "spell_at_lapse", "days_using"):
        p[k] = rng.integers(0, 400, n).astype(np.int32)
    p["using_ties"] = rng.integers(0, 4, n).astype(np.int64)
    u = rng.random((6, n))
    u[:, : n // 20] = 0.0  # every chance event happens
    u[:, n // 20 : n // 10] = 1.0  # none does
    return p, rng.integers(0, 6, n).astype(float), rng.random((2, n)), u


def test_compiled_person_day_equals_plain_python_bit_for_bit():
    """Random people in every state, every 0.2 mechanism on (high rates, so all rules fire)."""
    behaviour = Behaviour.model_validate(
        {**kernel_cases.MECHANISMS["behaviour"], "hrs_base_rate": 0.3, "remission_rate": 20.0}
    )
    k = coefficients([behaviour])[0]
    p, contacts, (idle, target), u = _random_people(3_000, 5)
    compiled = rules.kernel("person_day")
    fired = set()
    for i in range(3_000):
        args = (
            *(p[name][i] for name in (*rules.STATE, *rules.TRAITS_READ)),
            contacts[i],
            idle[i],
            target[i],
            *u[:, i],
        )
        got, want = compiled(*args, k), rules.person_day(*args, k)
        assert got[0] == want[0] and got[1] == want[1], i
        fired |= {name for name, e in zip(rules.EVENTS, got[1], strict=True) if e}
    assert fired == set(rules.EVENTS[:8])  # the 0.2 events; 0.3: test_mechanisms_03.py


def test_worker_processes_give_identical_output():
    scenario = make_scenario({**CHURN, **CAPACITY}, size=40, horizon=30, replicates=6)
    whole = runner.run(scenario, progress=False)
    pooled = runner.run(scenario, progress=False, workers=2)
    pd.testing.assert_frame_equal(pooled.daily, whole.daily, check_exact=True)
    pd.testing.assert_frame_equal(pooled.people, whole.people, check_exact=True)


def test_simulate_columns_are_the_tables_as_arrays():
    """Rows with different parameters, one size and horizon: each column [row, ...] with the
    table's dtype, equal to simulate_batch's tables; mixed shapes are a clear error."""
    base = {**CHURN, **CAPACITY}
    low = make_scenario(base, size=30, horizon=25)
    high = make_scenario(
        deep_update(base, {"behaviour": {"coping_weight": 3.0}}), size=30, horizon=25
    )
    columns = simulate_columns([low, high, low], 5, [4, 4, 1])
    tables = simulate_batch([low, high, low], 5, [4, 4, 1])
    assert columns.replicates.tolist() == [4, 4, 1]
    for row, (daily, people) in enumerate(tables):
        assert list(columns.daily) == list(daily.columns[1:])
        assert list(columns.people) == list(people.columns[1:])
        for name, values in columns.daily.items():
            assert values.shape == (3, 26) and values.dtype == daily[name].to_numpy().dtype, name
            np.testing.assert_array_equal(values[row], daily[name].to_numpy())
        for name, values in columns.people.items():
            assert values.shape == (3, 30) and values.dtype == people[name].to_numpy().dtype, name
            np.testing.assert_array_equal(values[row], people[name].to_numpy())
    other = make_scenario(base, size=31, horizon=25)
    with pytest.raises(InputError, match="one cohort size and horizon"):
        simulate_columns([low, other], 5, [0, 1])


def test_simulate_columns_agent_rows_equal_batched_rows():
    """Rows on the Mesa agent engine (stepped one at a time) give the batched rows' arrays."""
    agent = make_scenario(
        {"group": {"enabled": True}, "run": {"engine": "agent"}}, size=30, horizon=20
    )
    vector = make_scenario({"group": {"enabled": True}}, size=30, horizon=20)
    mixed = simulate_columns([agent, agent, vector], 3, [0, 1, 0])
    batched = simulate_columns([vector] * 3, 3, [0, 1, 0])
    for got, want in ((mixed.daily, batched.daily), (mixed.people, batched.people)):
        assert list(got) == list(want)
        for name in want:
            assert got[name].dtype == want[name].dtype, name
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
