"""Replicates run in batches (kds_sim.model.batch), returned as arrays (`simulate_columns`) or
as each replicate's daily and person tables (`simulate_batch`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kds_sim.errors import InputError
from kds_sim.model.batch import (
    BOOL_DAILY,
    BYTES_PER_PERSON_DAY,
    COUNTS,
    DAILY,
    INTEGER_DAILY,
    STAGES,
    Ensemble,
    batch_size,
)
from kds_sim.model.people import entry_days
from kds_sim.model.scenario import Scenario

__all__ = [
    "BOOL_DAILY",
    "BYTES_PER_PERSON_DAY",
    "COUNTS",
    "DAILY",
    "INTEGER_DAILY",
    "STAGES",
    "Columns",
    "Ensemble",
    "batch_size",
    "simulate_batch",
    "simulate_columns",
]


@dataclass
class Columns:
    """Replicates' daily and person tables as arrays: `daily[name]` is [row, day] (days 0 to
    the horizon), `people[name]` is [row, person]; names and dtypes are the tables' columns."""

    replicates: np.ndarray
    daily: dict[str, np.ndarray]
    people: dict[str, np.ndarray]

    def tables(self, row: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Row `row` as the (daily, people) tables, with a "replicate" first column."""
        replicate = int(self.replicates[row])
        daily = pd.DataFrame({k: v[row] for k, v in self.daily.items()})
        people = pd.DataFrame({k: v[row] for k, v in self.people.items()})
        daily.insert(0, "replicate", replicate)
        people.insert(0, "replicate", replicate)
        return daily, people


def _per_row(scenarios: Scenario | Sequence[Scenario], rows: list[int]) -> list[Scenario]:
    per_row = [scenarios] * len(rows) if isinstance(scenarios, Scenario) else list(scenarios)
    if len(per_row) != len(rows):
        raise InputError(
            f"give one scenario or one per index: {len(per_row)} scenarios, {len(rows)} indices"
        )
    return per_row


def simulate_columns(
    scenarios: Scenario | Sequence[Scenario],
    seed: int,
    indices: Sequence[int],
    budget_mb: float = 512.0,
) -> Columns:
    """Replicate `indices[k]` of `scenarios[k]` (or of one scenario) for every k, as arrays.

    Every row must share one cohort size and horizon (the arrays are [row, ...]); rows may
    differ in any other parameter. Stepped in batches that fit a memory budget; the output
    does not depend on the batching.
    """
    rows = list(indices)
    per_row = _per_row(scenarios, rows)
    shapes = {row_shape(s) for s in per_row}
    if len(shapes) > 1:
        raise InputError(
            "simulate_columns needs one cohort size and horizon for all rows, got (size, "
            f"horizon) {sorted(shapes)}; call it once per group of rows (simulate_batch does)"
        )
    parts: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]] = []
    size = shapes.pop()[0] if shapes else 1
    agent = [s.run.engine == "agent" for s in per_row]
    step = batch_size(size if isinstance(size, int) else per_row[0].population.size, budget_mb)
    start = 0
    while start < len(rows):  # consecutive rows of one engine, a budget's worth at a time
        stop = start + 1
        while stop < len(rows) and stop - start < step and agent[stop] == agent[start]:
            stop += 1
        if agent[start]:  # Mesa agents: one at a time
            stop = start + 1
        chunk = range(start, stop)
        seeds = [np.random.SeedSequence(seed, spawn_key=(rows[k],)) for k in chunk]
        if agent[start]:
            from kds_sim.model.kds_model import KDSModel  # Mesa only when asked for

            model = KDSModel(per_row[start], seeds[0]).run()
            daily = model.daily_table()
            people = model.person_table()
            parts.append(
                (
                    {str(k): daily[k].to_numpy()[None] for k in daily.columns},
                    {str(k): people[k].to_numpy()[None] for k in people.columns},
                )
            )
        else:
            ensemble = Ensemble([per_row[k] for k in chunk], seeds).run()
            parts.append((ensemble.daily_columns(), ensemble.person_columns()))
        start = stop
    if not parts:
        return Columns(np.array(rows, dtype=np.int64), {}, {})
    names = max((d for d, _ in parts), key=len)  # model 0.3 columns: present in some batches
    return Columns(
        replicates=np.array(rows, dtype=np.int64),
        daily={
            k: np.concatenate([d[k] if k in d else np.zeros_like(d["day"]) for d, _ in parts])
            for k in names
        },
        people={k: np.concatenate([p[k] for _, p in parts]) for k in parts[0][1]},
    )


def row_shape(scenario: Scenario) -> tuple[int | str, int]:
    """What fixes a row's array shapes: its cohort size (or network file) and horizon."""
    if scenario.network.edges_file:
        return scenario.network.edges_file, scenario.run.horizon_days
    return len(
        entry_days(scenario.population, scenario.run.horizon_days)
    ), scenario.run.horizon_days


def simulate_batch(
    scenarios: Scenario | Sequence[Scenario],
    seed: int,
    indices: Sequence[int],
    budget_mb: float = 512.0,
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Replicate `indices[k]` of `scenarios[k]` (or of one scenario) for every k, as
    `runner.simulate` returns them: `simulate_columns` per group of rows that share a cohort
    size and horizon, as tables (the output does not depend on how rows are batched)."""
    rows = list(indices)
    per_row = _per_row(scenarios, rows)
    out: list[tuple[pd.DataFrame, pd.DataFrame] | None] = [None] * len(rows)
    groups: dict[tuple[int | str, int], list[int]] = {}
    for k, s in enumerate(per_row):
        groups.setdefault(row_shape(s), []).append(k)
    for members in groups.values():
        columns = simulate_columns(
            [per_row[k] for k in members], seed, [rows[k] for k in members], budget_mb
        )
        for j, k in enumerate(members):
            out[k] = columns.tables(j)
    return [t for t in out if t is not None]
