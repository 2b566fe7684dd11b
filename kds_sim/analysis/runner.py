"""Replicates: seeds, worker processes, resumable caching, and the result object.

Replicate i of a run with root seed S starts from SeedSequence(S, spawn_key=(i,)), the same
child that SeedSequence(S).spawn(n)[i] gives for any n. So results do not depend on the
number of workers, on the order replicates finish, or on how many replicates are asked for;
and replicate i of two scenarios shares its random numbers (common random numbers).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from kds_sim._version import __version__
from kds_sim.analysis import metrics, statistics
from kds_sim.io import storage
from kds_sim.io.scenario_files import validate
from kds_sim.model.kds_model import KDSModel
from kds_sim.model.scenario import Scenario


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


def _simulate_json(scenario_json: str, seed: int, index: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return simulate(Scenario.model_validate_json(scenario_json), seed, index)


def cache_key(scenario: Scenario, seed: int) -> str:
    """Identifies everything that determines a replicate except its index."""
    data = scenario.model_dump(
        mode="json", exclude={"run": {"replicates"}, "outputs": True, "calibration": True}
    )
    text = json.dumps([data, seed, __version__], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ReplicateCache:
    """Finished replicates on disk, so a killed run resumes where it stopped."""

    def __init__(self, root: Path, scenario: Scenario, seed: int):
        self.dir = Path(root) / cache_key(scenario, seed)

    def _paths(self, index: int) -> tuple[Path, Path]:
        stem = self.dir / f"replicate_{index:06d}"
        return stem.with_suffix(".daily.parquet"), stem.with_suffix(".people.parquet")

    def load(self, index: int) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        daily, people = self._paths(index)
        if daily.is_file() and people.is_file():
            return pd.read_parquet(daily), pd.read_parquet(people)
        return None

    def save(self, index: int, tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        for path, table in zip(self._paths(index), tables, strict=True):
            storage.write_parquet(path, table)


@dataclass
class RunResult:
    """Everything one scenario's replicates produced, as tidy tables."""

    scenario: Scenario
    seed: int
    daily: pd.DataFrame
    people: pd.DataFrame
    metrics: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
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
        table = statistics.summarise(self.metrics)
        table.insert(0, "scenario", self.name)
        return table

    def survival(self) -> pd.DataFrame:
        """Relapse-free survival by day (Kaplan-Meier), mean over replicates with a 95 % CI."""
        table = statistics.survival_curve(self.people, self.horizon)
        table.insert(0, "scenario", self.name)
        return table

    def prevalence(self) -> pd.DataFrame:
        """Share of the cohort in each state by day, mean over replicates."""
        n = self.people.groupby("replicate").size().iloc[0]
        states = ["abstinent", "lapsed", "relapsed"]
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


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes, started once and shared by several runs (each import costs seconds)."""
    return ProcessPoolExecutor(workers, mp_context=get_context("spawn"))


def _in_pool(
    pool: Executor,
    scenario: Scenario,
    seed: int,
    todo: list[int],
    done: Callable[[int, tuple[pd.DataFrame, pd.DataFrame]], None],
) -> None:
    payload = scenario.model_dump_json()
    futures = {pool.submit(_simulate_json, payload, seed, i): i for i in todo}
    for future in as_completed(futures):
        done(futures[future], future.result())


def run(
    scenario: Scenario,
    replicates: int | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    workers: int = 1,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    pool: Executor | None = None,
) -> RunResult:
    """Run a scenario's replicates and collect the results.

    Arguments left as None take the scenario's [run] values. With `cache_dir`, finished
    replicates are kept there and reused when the same run is started again. `pool` (from
    `worker_pool`) lets several runs share worker processes; otherwise `workers` > 1 starts
    a pool for this run.
    """
    updates = {
        k: v for k, v in (("replicates", replicates), ("horizon_days", horizon)) if v is not None
    }
    if seed is not None:
        updates["seed"] = seed
    if updates:
        scenario = validate(
            {**scenario.model_dump(), "run": {**scenario.run.model_dump(), **updates}},
            source=f"{scenario.name} (run options)",
        )
    n, seed = scenario.run.replicates, scenario.run.seed
    cache = ReplicateCache(Path(cache_dir), scenario, seed) if cache_dir else None
    results: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}
    todo = []
    for index in range(n):
        found = cache.load(index) if cache else None
        if found is not None:
            results[index] = found
        else:
            todo.append(index)

    bar = tqdm(
        total=n,
        initial=n - len(todo),
        desc=f"{scenario.name}",
        unit="rep",
        disable=None if progress else True,
        leave=False,
    )

    def done(index: int, tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        results[index] = tables
        if cache:
            cache.save(index, tables)
        bar.update()

    if pool is not None and todo:
        _in_pool(pool, scenario, seed, todo, done)
    elif workers > 1 and len(todo) > 1:
        with worker_pool(min(workers, len(todo))) as own:
            _in_pool(own, scenario, seed, todo, done)
    else:
        for index in todo:
            done(index, simulate(scenario, seed, index))
    bar.close()
    daily = pd.concat([results[i][0] for i in range(n)], ignore_index=True)
    people = pd.concat([results[i][1] for i in range(n)], ignore_index=True)
    return RunResult(scenario, seed, daily, people)
