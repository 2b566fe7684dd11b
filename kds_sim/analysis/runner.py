"""Replicates: seeds, resumable runs through the evaluation core, and the result object.

Replicate i of a run with root seed S starts from SeedSequence(S, spawn_key=(i,)), the same
child that SeedSequence(S).spawn(n)[i] gives for any n. So results do not depend on the
number of workers, on the order replicates finish, or on how many replicates are asked for;
and replicate i of two scenarios shares its random numbers (common random numbers).

Runs go through `evaluation.evaluate` (the one evaluation path: batching, backends, the
SQLite store as the one resume cache); this module only turns its rows and tables into a
`RunResult`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kds_sim._version import RESULTS_EPOCH, __version__
from kds_sim.analysis import estimate, evaluation, metrics, statistics
from kds_sim.analysis.backend import Backend
from kds_sim.analysis.store import Store
from kds_sim.analysis.store import cache as store_cache
from kds_sim.errors import InputError
from kds_sim.io import display
from kds_sim.io.scenario_files import as_scenario
from kds_sim.model.kds_model import KDSModel
from kds_sim.model.scenario import Scenario

PREVALENCE_STATES = ("abstinent", "lapsed", "relapsed", "in_treatment", "incarcerated")
"""The daily table's state counts that `RunResult.prevalence` shares out (the last two only
in tables of scenarios with a model 0.3 mechanism on)."""


def replicate_seed(seed: int, index: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(index,))


def simulate(scenario: Scenario, seed: int, index: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run replicate `index`: its daily table and its person table."""
    model = KDSModel(scenario, replicate_seed(seed, index))
    model.run()
    daily, people = model.daily_table(), model.person_table()
    daily.insert(0, "replicate", index)
    people.insert(0, "replicate", index)
    return daily, people


def _file_digest(name: str | None) -> str | None:
    """A network file's contents, not its path: editing the file must not reuse old results."""
    if name is None:
        return None
    return hashlib.sha256(Path(name).read_bytes()).hexdigest()


def cache_key(scenario: Scenario, seed: int) -> str:
    """Identifies everything that determines a replicate except its index: the resolved
    scenario (every file of its extends chain, overrides, engine), the contents of its network
    files, the seed, the package version and its results epoch."""
    data = scenario.model_dump(
        mode="json", exclude={"run": {"replicates"}, "outputs": True, "calibration": True}
    )
    files = [_file_digest(scenario.network.edges_file), _file_digest(scenario.network.nodes_file)]
    text = json.dumps([data, files, seed, __version__, RESULTS_EPOCH], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class RunResult:
    """Everything one scenario's replicates produced, as tidy tables."""

    __repr__ = display.run_repr  # one line, not the whole scenario
    _repr_html_ = display.run_html  # Jupyter: the headline table

    scenario: Scenario
    seed: int
    daily: pd.DataFrame
    people: pd.DataFrame
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per-replicate metrics; computed from the tables when not given (`run` gives them, as
    the evaluation core computed them, equal to the tables' by test)."""

    def __post_init__(self) -> None:
        if not self.metrics.empty:
            return
        rows = []
        for (index, daily), (_, people) in zip(
            self.daily.groupby("replicate", sort=True),
            self.people.groupby("replicate", sort=True),
            strict=True,
        ):
            rows.append({"replicate": index, **metrics.replicate_metrics(people, daily)})
        self.metrics = pd.DataFrame(rows)

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def horizon(self) -> int:
        return int(self.daily["day"].max())

    @property
    def cohort_size(self) -> int:
        """People per replicate (a network file, not population.size, may set it)."""
        return len(self.people) // self.replicates

    @property
    def replicates(self) -> int:
        return int(self.metrics["replicate"].nunique())

    def summary(self) -> pd.DataFrame:
        """Headline metrics with 95 % CIs over replicates."""
        table = statistics.summarise(self.metrics, metrics.units(map(str, self.metrics)))
        table.insert(0, "scenario", self.name)
        return table

    def survival(self) -> pd.DataFrame:
        """Relapse-free survival by day (Kaplan-Meier), mean over replicates with a 95 % CI."""
        table = statistics.survival_curve(self.people, self.horizon)
        table.insert(0, "scenario", self.name)
        return table

    def prevalence(self) -> pd.DataFrame:
        """Share of the cohort in each state by day, mean over replicates: abstinent, lapsed,
        relapsed and, when a model 0.3 mechanism is on (the daily table then counts them), in
        treatment and incarcerated. People not present (before discharge, after death or a
        move) are in none of them."""
        n = self.people.groupby("replicate").size().iloc[0]
        states = [s for s in PREVALENCE_STATES if s in self.daily.columns]
        table = self.daily.groupby("day")[states].mean() / n
        return table.reset_index()

    def values(self, metric: str) -> np.ndarray:
        """Per-replicate values of any registered per-replicate metric, in replicate order."""
        if metric in self.metrics:
            return self.metrics[metric].to_numpy(dtype=float)
        definition = metrics.get(metric)
        if not isinstance(definition, metrics.Metric) or definition.per_replicate is None:
            raise KeyError(f"{metric!r} is not a per-replicate metric")
        compute = definition.per_replicate
        return np.array(
            [
                compute(people, daily)
                for (_, daily), (_, people) in zip(
                    self.daily.groupby("replicate", sort=True),
                    self.people.groupby("replicate", sort=True),
                    strict=True,
                )
            ]
        )


def run(
    scenario: Scenario | str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    workers: int = 1,
    progress: bool = True,
    cache_dir: str | Path | None = None,
) -> RunResult:
    """Run a scenario's replicates and collect the results.

    Arguments left as None take the scenario's [run] values. With `cache_dir`, finished
    replicates are kept there and reused when the same run is started again. `scenario` may
    be a file or a shipped name (`"capacity_building"`).
    """
    scenario = as_scenario(scenario)
    updates = {
        k: v for k, v in (("replicates", replicates), ("horizon_days", horizon)) if v is not None
    }
    if seed is not None:
        updates["seed"] = seed
    scenario = scenario.updated({f"run.{k}": v for k, v in updates.items()})
    return run_many([scenario], workers, progress, cache_dir, label=scenario.name)[0]


def run_many(
    scenarios: Sequence[Scenario],
    workers: int = 1,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    label: str = "replicates",
) -> list[RunResult]:
    """Every scenario's own replicates (its [run] replicates), all through one evaluation:
    one pool, one store, batches that mix scenarios. The scenarios must share a seed; replicate
    i of each starts from SeedSequence(seed, spawn_key=(i,)) (common random numbers)."""
    seeds = {s.run.seed for s in scenarios}
    if len(seeds) != 1:
        raise InputError(f"run.seed: the scenarios must share one seed; got {sorted(seeds)}")
    seed = seeds.pop()
    size = max(s.population.size for s in scenarios)
    days = max(s.run.horizon_days for s in scenarios)
    n = sum(s.run.replicates for s in scenarios)
    names = ", ".join(s.name for s in scenarios)
    estimate.check(  # a run keeps every replicate's tables: ~25 columns per person and day
        estimate.estimate(n, size, days, values_per_run=5 * (size + days + 1)),
        f"{names}: replicates = {n} of population.size = {size}",
        Path(cache_dir) if cache_dir else None,
        workers,
    )
    plan = evaluation.Plan(
        list(scenarios),
        [{}],
        [s.run.replicates for s in scenarios],
        seed,
        [m for m in metrics.PER_REPLICATE if metrics.get(m).days <= days],
        tables=True,
    )
    store = _store(Path(cache_dir), plan) if cache_dir else None
    try:
        done = evaluation.evaluate(plan, Backend(workers), store, progress, label=label)
    finally:
        if store is not None:
            store.close()
    assert done.tables is not None
    out = []
    for s, wanted in zip(scenarios, plan.per_strategy, strict=True):
        daily, people = done.tables[(0, s.name)]
        rows = done.results[done.results["strategy"] == s.name]
        rows = rows[rows["replicate"] < wanted].sort_values("replicate")
        horizon = int(daily["day"].max())
        kept = [m for m in plan.columns if metrics.get(m).days <= horizon]
        table = pd.DataFrame(
            {
                "replicate": rows["replicate"].to_numpy(dtype=np.int64),
                **{m: rows[m].to_numpy(dtype=float) for m in kept},
            }
        )
        out.append(
            RunResult(
                s,
                seed,
                daily[daily["replicate"] < wanted].reset_index(drop=True),
                people[people["replicate"] < wanted].reset_index(drop=True),
                table,
            )
        )
    return out


def _store(folder: Path, plan: evaluation.Plan) -> Store:
    """The store of these scenarios' replicates, named by every input except the replicate
    counts (more replicates of the same run reuse the stored ones)."""
    keys = [cache_key(s, plan.seed) for s in plan.strategies]
    inputs = {"scenarios": "-".join(keys), "metrics": ",".join(plan.columns)}
    points = pd.DataFrame({"point": [0]})
    return store_cache(
        folder, "replicates", inputs, points, plan.columns, tables=True, what="replicates"
    )
