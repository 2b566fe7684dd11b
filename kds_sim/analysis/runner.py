"""Replicates: seeds, worker processes, resumable caching, and the result object.

Replicate i of a run with root seed S starts from SeedSequence(S, spawn_key=(i,)), the same
child that SeedSequence(S).spawn(n)[i] gives for any n. So results do not depend on the
number of workers, on the order replicates finish, or on how many replicates are asked for;
and replicate i of two scenarios shares its random numbers (common random numbers).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from kds_sim._version import RESULTS_EPOCH, __version__
from kds_sim.analysis import estimate, metrics, statistics
from kds_sim.analysis.backend import process_pool, stop_pool
from kds_sim.io import display, storage
from kds_sim.io.scenario_files import as_scenario
from kds_sim.model.ensemble import simulate_batch
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


BATCH_PEOPLE = 15_000
"""People (replicates x cohort) the ensemble engine steps together per task; then cached."""


def _chunks(scenario: Scenario, todo: list[int]) -> list[list[int]]:
    size = max(1, BATCH_PEOPLE // scenario.population.size)
    return [todo[i : i + size] for i in range(0, len(todo), size)]


def _simulate_json(
    scenario_json: str, seed: int, indices: list[int]
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    return simulate_batch(Scenario.model_validate_json(scenario_json), seed, indices)


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


class ReplicateCache:
    """Finished replicates on disk, so a killed run resumes where it stopped."""

    def __init__(self, root: Path, scenario: Scenario, seed: int):
        self.dir = Path(root) / cache_key(scenario, seed)

    def _paths(self, index: int) -> tuple[Path, Path]:
        stem = self.dir / f"replicate_{index:06d}"
        return stem.with_suffix(".daily.parquet"), stem.with_suffix(".people.parquet")

    def load(self, index: int) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        daily, people = self._paths(index)
        if not (daily.is_file() and people.is_file()):
            return None
        try:
            return pd.read_parquet(daily), pd.read_parquet(people)
        except Exception as err:  # a truncated or foreign file: recompute rather than fail
            warnings.warn(
                f"{self.dir}: cached replicate {index} is unreadable ({type(err).__name__}); "
                "computing it again",
                stacklevel=2,
            )
            return None

    def save(self, index: int, tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        self.save_many([index], [tables])

    def save_many(
        self, indices: Sequence[int], tables: Sequence[tuple[pd.DataFrame, pd.DataFrame]]
    ) -> None:
        """One file pair per replicate, as `save` writes them, with one pandas-to-Arrow
        conversion for the batch (per-replicate conversion dominated large runs)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        for kind, frames in enumerate(zip(*tables, strict=True)):
            whole = pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)
            start = 0
            for index, frame in zip(indices, frames, strict=True):
                part = whole.slice(start, len(frame))
                start += len(frame)

                def write(tmp: Path, part: pa.Table = part) -> None:
                    pq.write_table(part, tmp)

                storage.atomic_write(self._paths(index)[kind], write)


@dataclass
class RunResult:
    """Everything one scenario's replicates produced, as tidy tables."""

    __repr__ = display.run_repr  # one line, not the whole scenario
    _repr_html_ = display.run_html  # Jupyter: the headline table

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
        table = statistics.summarise(self.metrics, metrics.units(map(str, self.metrics)))
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
    return process_pool(workers)


def _in_pool(
    pool: Executor,
    scenario: Scenario,
    seed: int,
    todo: list[int],
    done: Callable[[list[int], list[tuple[pd.DataFrame, pd.DataFrame]]], None],
) -> None:
    payload = scenario.model_dump_json()
    futures: dict[Future, list[int]] = {
        pool.submit(_simulate_json, payload, seed, c): c for c in _chunks(scenario, todo)
    }
    kept: set[Future] = set()
    try:
        for future in as_completed(futures):
            done(futures[future], future.result())
            kept.add(future)
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM) or failed: end the workers first (finished results are
        # already in this process), then keep every replicate that did finish
        finished = [f for f in futures if f not in kept and f.done() and not f.cancelled()]
        stop_pool(pool)
        for future in finished:
            if future.exception() is None:
                done(futures[future], future.result())
        raise


def run(
    scenario: Scenario | str | Path,
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
    a pool for this run. `scenario` may be a file or a shipped name (`"capacity_building"`).
    """
    scenario = as_scenario(scenario)
    updates = {
        k: v for k, v in (("replicates", replicates), ("horizon_days", horizon)) if v is not None
    }
    if seed is not None:
        updates["seed"] = seed
    scenario = scenario.updated({f"run.{k}": v for k, v in updates.items()})
    n, seed = scenario.run.replicates, scenario.run.seed
    size, days = scenario.population.size, scenario.run.horizon_days
    estimate.check(  # a run keeps every replicate's tables: ~25 columns per person and day
        estimate.estimate(n, size, days, values_per_run=5 * (size + days + 1)),
        f"{scenario.name}: replicates = {n} of population.size = {size}",
        Path(cache_dir) if cache_dir else None,
        workers,
    )
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

    def done(chunk: list[int], tables: list[tuple[pd.DataFrame, pd.DataFrame]]) -> None:
        results.update(zip(chunk, tables, strict=True))
        if cache:
            cache.save_many(chunk, tables)
        bar.update(len(chunk))

    if pool is not None and todo:
        _in_pool(pool, scenario, seed, todo, done)
    elif workers > 1 and len(todo) > 1:
        with worker_pool(min(workers, len(todo))) as own:
            _in_pool(own, scenario, seed, todo, done)
    else:
        for chunk in _chunks(scenario, todo):
            done(chunk, simulate_batch(scenario, seed, chunk))
    bar.close()
    daily = pd.concat([results[i][0] for i in range(n)], ignore_index=True)
    people = pd.concat([results[i][1] for i in range(n)], ignore_index=True)
    return RunResult(scenario, seed, daily, people)
