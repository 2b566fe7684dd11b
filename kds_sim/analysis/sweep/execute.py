"""Running a design: batches of design points on the local machine or on a Dask cluster.

A task is a batch of design points; for each point and strategy it calls `runner.run` with the
experiment seed, so replicate i of every point and strategy starts from
SeedSequence(seed, spawn_key=(i,)) (common random numbers across the design). A task's result
depends only on its inputs, so the store is the same whatever executes it and in what order.
Only this (coordinating) process writes the store, one transaction per finished task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

Task = tuple[list[tuple[int, str, str]], int, int, list[str]]
"""([(point, strategy, scenario JSON)], replicates, seed, metric columns)."""


def run_task(task: Task) -> pd.DataFrame:
    """Simulate one batch; one row per (point, strategy, replicate). Runs on a worker."""
    from kds_sim.analysis import runner
    from kds_sim.model.scenario import Scenario

    items, replicates, seed, columns = task
    frames = []
    for point, strategy, payload in items:
        scenario = Scenario.model_validate_json(payload)
        result = runner.run(scenario, replicates=replicates, seed=seed, progress=False)
        table = pd.DataFrame({"point": point, "strategy": strategy}, index=range(replicates))
        table["replicate"] = result.metrics["replicate"].to_numpy()
        for name in columns:
            table[name] = result.values(name)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


@dataclass
class Executor:
    """Where tasks run: `workers` local processes, a Dask scheduler address, or a LocalCluster."""

    workers: int = 1
    scheduler: str | None = None
    dask_local: int | None = None

    @property
    def uses_dask(self) -> bool:
        return self.scheduler is not None or self.dask_local is not None

    def describe(self) -> str:
        if self.scheduler:
            return f"Dask scheduler {self.scheduler}"
        if self.dask_local:
            return f"Dask LocalCluster of {self.dask_local} workers"
        return f"{self.workers} local worker process(es)"

    def map(
        self,
        tasks: list[Any],
        done: Callable[[Any], None],
        function: Callable[[Any], Any] = run_task,
    ) -> None:
        """Run `function` on every task (by default a batch of sweep runs); `done` is called
        in this process with each result as it finishes."""
        if not tasks:
            return
        if self.uses_dask:
            with self._dask_client() as client:
                from distributed import as_completed as dask_completed

                futures = client.map(function, tasks, pure=False)
                for future in dask_completed(futures):
                    done(future.result())
                    future.release()
        elif self.workers > 1:
            from kds_sim.analysis.runner import worker_pool

            with worker_pool(min(self.workers, len(tasks))) as pool:
                pending = [pool.submit(function, t) for t in tasks]
                for future in as_completed(pending):
                    done(future.result())
        else:
            for task in tasks:
                done(function(task))

    @contextmanager
    def _dask_client(self) -> Iterator[Any]:
        from distributed import Client, LocalCluster

        if self.scheduler:
            with Client(self.scheduler) as client:
                yield client
            return
        with (
            LocalCluster(
                n_workers=self.dask_local or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
