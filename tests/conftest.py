"""Shared small fixtures: tiny scenarios, scenario files and cached statistical runs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kds_sim.analysis import runner, statistics
from kds_sim.model.scenario import Scenario

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"

# Statistical checks: replicates x people x days. 20 x 300 x 365 runs in about 4 s.
STAT_REPLICATES = 20
STAT_SIZE = 300
STAT_HORIZON = 365
STAT_SEED = 4242


def deep_update(base: dict, over: dict) -> dict:
    """A copy of `base` with `over` merged in, section by section."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def make_scenario(
    overrides: dict[str, Any] | None = None,
    *,
    size: int = 200,
    horizon: int = 60,
    replicates: int = 2,
    seed: int = 123,
    name: str = "tiny",
    dotted: dict[str, Any] | None = None,
) -> Scenario:
    """A small validated scenario; `overrides` is a nested dict merged over the defaults, then
    `dotted` ({"a.b": value}, e.g. parameters.MODEL_0_2) applied by Scenario.updated."""
    data = {
        "name": name,
        "run": {"horizon_days": horizon, "replicates": replicates, "seed": seed},
        "population": {"size": size},
        "outputs": {"figures": True, "parquet": True, "person_table": True},
    }
    scenario = Scenario.model_validate(deep_update(data, overrides or {}))
    return scenario.updated(dotted) if dotted else scenario


def write_toml(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def paired(
    low: runner.RunResult, high: runner.RunResult, metric: str
) -> tuple[float, float, float]:
    """Mean and 95 % CI of `high - low` for a metric, replicate by replicate (common seeds)."""
    return statistics.paired_difference(
        high.metrics[["replicate", metric]], low.metrics[["replicate", metric]]
    )


def first_relapse_hazard(people: pd.DataFrame, start: int, end: int) -> pd.Series:
    """Per replicate: first relapses in days start..end per person-day at risk in those days.

    A person is at risk of a first relapse on day d if they had no first relapse before d;
    the day of the relapse itself counts as at risk. Censored people are followed to the
    horizon (their `relapse_time`).
    """
    time = people["relapse_time"].to_numpy(dtype=float)
    first = people["first_relapse_day"].to_numpy(dtype=float)
    at_risk = np.clip(np.minimum(time, end) - start + 1, 0, None)
    events = (first >= start) & (first <= end)
    frame = pd.DataFrame({"replicate": people["replicate"], "at_risk": at_risk, "events": events})
    sums = frame.groupby("replicate")[["at_risk", "events"]].sum()
    return sums["events"] / sums["at_risk"]


@pytest.fixture
def tiny() -> Scenario:
    """200 people, 60 days, 2 replicates."""
    return make_scenario()


@pytest.fixture(scope="session")
def stat_run():
    """Run a scenario for the statistical checks, memoised per set of overrides.

    Every call uses the same root seed, so replicate i of two scenarios shares its random
    numbers (common random numbers) and differences can be paired.
    """
    memo: dict[str, runner.RunResult] = {}

    def _run(overrides: dict[str, Any] | None = None) -> runner.RunResult:
        key = repr(sorted((overrides or {}).items()))
        if key not in memo:
            scenario = make_scenario(
                overrides,
                size=STAT_SIZE,
                horizon=STAT_HORIZON,
                replicates=STAT_REPLICATES,
                seed=STAT_SEED,
                name="stat",
            )
            memo[key] = runner.run(scenario, progress=False)
        return memo[key]

    return _run
