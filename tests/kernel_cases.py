"""Scenarios whose outputs are stored (tests/data/kernel_reference): the engine must reproduce
them byte for byte. First stored from the numpy rulebook before the fused kernel replaced it
(which reproduced them exactly); regenerated with `python tests/kernel_cases.py` when the
random streams changed (counter-based draws, CHANGELOG), and the group cases once more when model
0.3 gave each PEKA domain one channel (issue 21; the 0.2 group formulas patched back in gave the
old tables exactly before they were replaced), and only then.

`built()` says how each case was made; the scenarios themselves are stored beside the tables
(`NAME.json`, fully resolved), so later changes to defaults or shipped scenario files (which
calibration moves) do not turn an engine test into a parameter test."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from conftest import deep_update, make_scenario

from kds_sim.model.ensemble import simulate_batch
from kds_sim.model.scenario import Scenario

REFERENCE = Path(__file__).parent / "data" / "kernel_reference"
SEED = 17
MECHANISMS = {  # every 0.2 mechanism on, so every branch of the rules runs
    "behaviour": {
        "stress_coping_weight": 1.0,
        "lapse_self_efficacy_weight": 1.5,
        "lapse_interaction_weight": 2.0,
        "negative_expectancy_weight": 1.0,
        "expectancy_craving_share": 0.3,
        "expectancy_decay_per_year": 0.5,
        "ave_spell_weight": 1.0,
        "ave_commitment_weight": 1.0,
        "lapse_learning_gain": 0.05,
        "remission_rate": 2.0,
        "using_tie_end_rate": 0.5,
        "using_tie_cut_rate": 2.0,
        "hrs_rate_per_using_tie": 0.2,
        "reentry_rate": 20.0,
    },
    "network": {"peer_degree": 8, "using_ties_mean": 1.0},
}
INTERVENTIONS = [
    {"kind": "work_plan", "start_day": 0},
    {"kind": "relapse_prevention_training", "start_day": 3, "sessions": 4},
    {"kind": "mentoring", "start_day": 0},
    {"kind": "recruitment", "start_day": 5, "target_coverage": 0.6, "targeting": "most_engaged"},
]


NAMES = (
    "no_group",
    "mechanisms_group",
    "capacity_building_mentoring",
    "open_population_interventions",
    "group_stops_meeting",
    "rows_with_different_parameters",
)


def scenarios(name: str) -> list[Scenario]:
    """A case's scenarios (one per replicate row), as stored."""
    text = (REFERENCE / f"{name}.json").read_text(encoding="utf-8")
    return [Scenario.model_validate(s) for s in json.loads(text)]


def cases() -> dict[str, list[Scenario]]:
    return {name: scenarios(name) for name in NAMES}


def built() -> dict[str, list[Scenario]]:
    """How the cases were made (group.coping_gain: the default when the tables were stored)."""
    group = {"group": {"enabled": True, "coverage": 0.5, "coping_gain": 0.04}}
    capacity = {
        "group": {"enabled": True, "coverage": 0.3, "coping_gain": 0.04},
        "interventions": INTERVENTIONS,
    }
    open_population = {
        "population": {
            "discharges_per_month": 10.0,
            "death_rate": 0.2,
            "overdose_death_rate": 1.0,
            "move_away_rate": 0.3,
        }
    }
    low = make_scenario(deep_update(MECHANISMS, capacity), size=70, horizon=120)
    high = make_scenario(
        deep_update(
            deep_update(MECHANISMS, capacity),
            {"behaviour": {"coping_weight": 3.0, "craving_decay_days": 20.0}},
        ),
        size=70,
        horizon=120,
    )
    return {
        "no_group": [make_scenario({}, size=80, horizon=150)] * 2,
        "mechanisms_group": [make_scenario(deep_update(MECHANISMS, group), size=80, horizon=150)]
        * 2,
        # scenarios/capacity_building_mentoring.toml of commit eeca428, 100 people, 150 days
        "capacity_building_mentoring": scenarios("capacity_building_mentoring"),
        "open_population_interventions": [
            make_scenario(
                deep_update(deep_update(MECHANISMS, capacity), open_population),
                size=40,
                horizon=200,
            )
        ]
        * 2,
        "group_stops_meeting": [
            make_scenario(
                deep_update(
                    MECHANISMS,
                    {
                        "group": {
                            "enabled": True,
                            "coping_gain": 0.04,
                            "stop_threshold": 2.4,
                            "erosion_half_life_min": 15.0,
                            "erosion_half_life_max": 30.0,
                        },
                        "interventions": [
                            {"kind": "mentoring", "start_day": 0, "duration_days": 10}
                        ],
                    },
                ),
                size=60,
                horizon=120,
            )
        ]
        * 2,
        "rows_with_different_parameters": [low, high],
    }


def run(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The case's daily and person tables (both rows), as the ensemble engine gives them."""
    tables = simulate_batch(cases()[name], SEED, [0, 1])
    daily = pd.concat([d for d, _ in tables], ignore_index=True)
    people = pd.concat([p for _, p in tables], ignore_index=True)
    return daily, people


def stored(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.read_parquet(REFERENCE / f"{name}_daily.parquet"),
        pd.read_parquet(REFERENCE / f"{name}_people.parquet"),
    )


def freeze() -> None:
    """Store the scenarios of `built()`."""
    for name, scenarios in built().items():
        text = json.dumps([s.model_dump(mode="json") for s in scenarios], indent=1)
        (REFERENCE / f"{name}.json").write_text(text + "\n", encoding="utf-8")


def save() -> None:
    """Write the reference tables (only when a change is meant to alter results)."""
    REFERENCE.mkdir(parents=True, exist_ok=True)
    for name in cases():
        daily, people = run(name)
        daily.to_parquet(REFERENCE / f"{name}_daily.parquet")
        people.to_parquet(REFERENCE / f"{name}_people.parquet")
        back_daily, back_people = stored(name)
        pd.testing.assert_frame_equal(back_daily, daily, check_exact=True)
        pd.testing.assert_frame_equal(back_people, people, check_exact=True)


if __name__ == "__main__":
    save()
