"""The one evaluation core: strategies x parameter sets x R paired replicates -> metrics.

Every analysis (sweep, uncertainty, point calibration, ABC, the EMA Workbench adapter) asks
the same thing: run these strategies at these parameter values, R replicates each on common
random numbers, and give the per-replicate metrics and the paired contrasts. It is done here
once: parameter sets are applied with `Scenario.updated` (validated once, in this process,
before any simulation), rows of many sets are stepped as one engine batch, per-replicate
metrics are computed vectorised over the batch (`columns`), tasks run on any `Backend` and
finished tasks are committed to a `Store`, so a killed evaluation resumes without losing or
double-counting a row.

Seeds: replicate r of point p runs from SeedSequence(seed, spawn_key=(p * stride + r,)), for
every strategy (common random numbers). `stride` 0 gives every point the same replicates (a
sweep: points differ only in parameters); a large stride gives every point its own (draws of
an uncertainty analysis). A row's seed depends on nothing else, so the results do not depend
on the backend, the batching or the order tasks finish.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from kds_sim._version import RESULTS_EPOCH, __version__
from kds_sim.analysis import columns, metrics, statistics
from kds_sim.analysis.backend import Backend
from kds_sim.analysis.store import Store
from kds_sim.errors import InputError
from kds_sim.model.ensemble import row_shape
from kds_sim.model.scenario import Scenario

MEMBERS = "members_abstinent"
MEMBERS_REF = "members_abstinent_ref"
"""Per-replicate inputs of `abstinence_rr_365d_members`: continuous abstinence among the
strategy's members, and among the same people in the reference (same point and replicate)."""

ROWS_PER_TASK = 96
"""Engine rows (points x strategies x replicates) per task: enough to amortise the batched
engine's per-day cost, small enough to keep every worker busy and each commit small."""

PAIRED_MEANS = ("averted_per_100_", "difference_")
"""Contrasts that are means of per-replicate paired differences (their CI is symmetric)."""


@dataclass
class Plan:
    """What to evaluate: `strategies` at every parameter set of `changes` (dotted keys)."""

    strategies: list[Scenario]
    changes: Sequence[dict[str, Any]]
    replicates: int | list[int]
    seed: int
    columns: list[str]
    """Per-replicate metrics to compute (names of `metrics`, plus MEMBERS / MEMBERS_REF)."""
    reference: str | None = None
    stride: int = 0
    survival_every: int | None = None
    """Keep each point's mean Kaplan-Meier survival every this many days (fan charts)."""
    tables: bool = False
    """Keep every row's daily and person tables (what `runner.run` returns)."""

    def __post_init__(self) -> None:
        names = [s.name for s in self.strategies]
        if len(set(names)) != len(names):
            raise InputError(f"strategies: names must be unique; got {names}")
        if self.reference is not None and self.reference not in names:
            raise InputError(f"reference = {self.reference!r}: allowed: one of {names}")
        if isinstance(self.replicates, int):
            self.replicates = [self.replicates] * len(self.strategies)
        if min(self.replicates, default=1) < 1:
            raise InputError(f"replicates = {min(self.replicates)}: allowed: 1 or more")

    @property
    def per_strategy(self) -> list[int]:
        assert isinstance(self.replicates, list)
        return self.replicates

    @property
    def runs_per_point(self) -> int:
        return sum(self.per_strategy)

    def scenarios(self, point: int) -> list[Scenario]:
        """Every strategy at one parameter set, validated."""
        return [s.updated(self.changes[point]) for s in self.strategies]


Item = tuple[int, list[Scenario], tuple[int, ...]]
"""One point of a task: its index, every strategy at its parameters, the replicates to run
(of each strategy, those below its replicate count)."""
Task = tuple[list[Item], "TaskSettings"]


@dataclass(frozen=True)
class TaskSettings:
    replicates: tuple[int, ...]
    seed: int
    stride: int
    columns: tuple[str, ...]
    reference: int | None
    survival_every: int | None
    tables: bool = False


Arrays = dict[str, np.ndarray]
TableRow = tuple[int, str, int, Arrays, Arrays]
"""(point, strategy, replicate, daily columns, person columns) of one row."""


@dataclass
class TaskResult:
    """What a task sends back: per-replicate rows, survival curves, and (when asked) every
    row's tables as column arrays."""

    rows: pd.DataFrame
    curves: pd.DataFrame | None = None
    tables: list[TableRow] | None = None


def run_task(task: Task) -> TaskResult:
    """Simulate a few points' rows as one batch: one row per (point, strategy, replicate)
    with every asked-for metric, and the survival curves. Runs on a worker; the result depends
    only on the task."""
    items, settings = task
    rows: list[Scenario] = []
    indices: list[int] = []
    where: list[tuple[int, int, int]] = []  # (point, strategy position, replicate)
    for point, scenarios, replicates in items:
        for k, scenario in enumerate(scenarios):
            for r in replicates:
                if r < settings.replicates[k]:
                    rows.append(scenario)
                    indices.append(point * settings.stride + r)
                    where.append((point, k, r))
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, s in enumerate(rows):
        key = (row_shape(s), s.run.engine)  # people entering later count (discharges)
        groups.setdefault(key, []).append(i)
    values = {c: np.full(len(rows), np.nan) for c in settings.columns if c not in _PAIRED}
    blocks: list[tuple[list[int], columns.Columns]] = []
    for members in groups.values():
        block = columns.simulate_columns(
            [rows[i] for i in members], settings.seed, [indices[i] for i in members]
        )
        blocks.append((members, block))
        horizon = block.horizon
        for c in values:
            definition = metrics.get(c)
            if definition.days > horizon:
                continue
            values[c][members] = columns.values(block, c)
    names = [s.name for s in items[0][1]]
    table = pd.DataFrame(
        {
            "point": [w[0] for w in where],
            "strategy": [names[w[1]] for w in where],
            "replicate": [w[2] for w in where],
            **values,
        }
    )
    if MEMBERS in settings.columns and settings.reference is not None:
        table[MEMBERS], table[MEMBERS_REF] = _members(blocks, where, settings.reference)
    curves = _curves(blocks, where, items, settings) if settings.survival_every else None
    tables = None
    if settings.tables:
        tables = [
            (
                where[i][0],
                names[where[i][1]],
                where[i][2],
                {c: v[j] for c, v in block.daily.items()},
                {c: v[j] for c, v in block.people.items()},
            )
            for members, block in blocks
            for j, i in enumerate(members)
        ]
    return TaskResult(table, curves, tables)


_PAIRED = (MEMBERS, MEMBERS_REF)


def _locate(blocks: list[tuple[list[int], columns.Columns]]) -> dict[int, tuple[int, int]]:
    return {row: (b, j) for b, (members, _) in enumerate(blocks) for j, row in enumerate(members)}


def _members(
    blocks: list[tuple[list[int], columns.Columns]],
    where: list[tuple[int, int, int]],
    reference: int,
) -> tuple[np.ndarray, np.ndarray]:
    at = _locate(blocks)
    row_of = {w: i for i, w in enumerate(where)}
    own, theirs = np.full(len(where), np.nan), np.full(len(where), np.nan)
    for i, (point, _, r) in enumerate(where):
        ref = row_of.get((point, reference, r))
        if ref is None:
            continue
        b, j = at[i]
        rb, rj = at[ref]
        member = blocks[b][1].people["member"][j].astype(bool)
        if not member.any():
            continue
        mine = columns._continuously_abstinent(blocks[b][1])[j]
        other = columns._continuously_abstinent(blocks[rb][1])[rj]
        own[i] = mine[member].sum() / member.sum()
        theirs[i] = other[member].sum() / member.sum()
    return own, theirs


def _curves(
    blocks: list[tuple[list[int], columns.Columns]],
    where: list[tuple[int, int, int]],
    items: list[Item],
    settings: TaskSettings,
) -> pd.DataFrame:
    assert settings.survival_every
    curve_of: dict[int, np.ndarray] = {}
    days_of: dict[int, np.ndarray] = {}
    for members, block in blocks:
        days = np.arange(0, block.horizon + 1, settings.survival_every)
        for row, curve in zip(members, columns.survival(block, days), strict=True):
            curve_of[row], days_of[row] = curve, days
    by: dict[tuple[int, int], list[int]] = {}
    for i, (point, k, _) in enumerate(where):
        by.setdefault((point, k), []).append(i)
    names = [s.name for s in items[0][1]]
    frames = [
        pd.DataFrame(
            {
                "point": point,
                "strategy": names[k],
                "day": days_of[rows[0]],
                "survival": np.mean([curve_of[i] for i in rows], axis=0),
            }
        )
        for (point, k), rows in by.items()
    ]
    return pd.concat(frames, ignore_index=True)


# summaries ------------------------------------------------------------------------------------
def t_quantile(df: int) -> float:
    return statistics.t_quantile(0.975, df)


@dataclass
class RunValues:
    """What a Contrast reads of a run: its per-replicate values, column by column (arrays, so
    summarising thousands of points costs no pandas selection per point and metric)."""

    columns: Mapping[str, np.ndarray]
    people: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def of(cls, rows: pd.DataFrame | Mapping[str, np.ndarray]) -> RunValues:
        if isinstance(rows, pd.DataFrame):
            return cls({str(c): rows[c].to_numpy() for c in rows.columns})
        return cls(rows)

    @property
    def metrics(self) -> pd.DataFrame:
        return pd.DataFrame(dict(self.columns))

    def values(self, metric: str) -> np.ndarray:
        return np.asarray(self.columns[metric], dtype=float)


def contrast(
    name: str,
    rows: pd.DataFrame | Mapping[str, np.ndarray],
    ref: pd.DataFrame | Mapping[str, np.ndarray],
) -> tuple[float, float, float]:
    """A contrast of one strategy's replicates against the reference's (paired by replicate)."""
    run, base = RunValues.of(rows), RunValues.of(ref)
    if name == "abstinence_rr_365d_members":
        if MEMBERS not in run.columns:
            raise InputError(f"{name}: needs the members' abstinence ({MEMBERS}) in columns")
        own = run.values(MEMBERS)
        ok = ~np.isnan(own)
        if not ok.any():
            return np.nan, np.nan, np.nan
        return statistics.ratio_ci(own[ok], run.values(MEMBERS_REF)[ok])
    definition = metrics.get(name)
    assert isinstance(definition, metrics.Contrast)
    return definition.compute(run, base)


def needed_columns(names: Sequence[str], horizon: int) -> list[str]:
    """Per-replicate columns that give these metrics and contrasts at this horizon."""
    out: list[str] = []
    for name in names:
        definition = metrics.get(name)
        if isinstance(definition, metrics.Metric):
            if definition.from_scenario is None and definition.per_replicate is not None:
                out.append(name)
        elif name == "abstinence_rr_365d_members":
            out += [MEMBERS, MEMBERS_REF]
        elif name == "abstinence_rr_365d":
            out.append("continuous_abstinence_365d")
        else:
            tag = name.rsplit("_", 1)[1]
            out.append("relapse_horizon" if tag == "horizon" else f"relapse_{tag}")
    for name in out:
        if name not in _PAIRED and metrics.get(name).days > horizon:
            raise InputError(
                f"metric {name!r} needs {metrics.get(name).days} days of follow-up; the "
                f"horizon is {horizon} days; allowed: metrics of at most {horizon} days"
            )
    return list(dict.fromkeys(out))


def _groups(results: pd.DataFrame) -> Iterator[tuple[int, str, dict[str, np.ndarray]]]:
    """Every (point, strategy) of `results` in order of first appearance, with its rows'
    columns as arrays in replicate order: one sort for the whole table."""
    if results.empty:
        return
    group = results.groupby(["point", "strategy"], sort=False).ngroup().to_numpy()
    order = np.lexsort((results["replicate"].to_numpy(), group))
    columns = {str(c): results[c].to_numpy()[order] for c in results.columns}
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    starts = [0, *bounds.tolist()]
    stops = [*bounds.tolist(), len(order)]
    for start, stop in zip(starts, stops, strict=True):
        rows = {c: v[start:stop] for c, v in columns.items()}
        yield int(rows["point"][0]), str(rows["strategy"][0]), rows


def summarise(results: pd.DataFrame, names: Sequence[str], reference: str | None) -> pd.DataFrame:
    """Per point, strategy and metric: the mean over replicates, its 95 % CI and the
    replicate-level sd (for contrasts that are paired means; NaN for ratios)."""
    out: list[tuple[int, str, str, float, float, float, float]] = []
    groups = list(_groups(results))
    refs = {point: rows for point, strategy, rows in groups if strategy == reference}
    for point, strategy, rows in groups:
        n = len(rows["replicate"])
        for name in names:
            sd = np.nan
            if metrics.is_contrast(name):
                ref = refs.get(point)
                if ref is None:
                    continue
                mean, low, high = contrast(name, rows, ref)
                if name.startswith(PAIRED_MEANS) and n > 1:
                    sd = (high - low) / 2 * np.sqrt(n) / t_quantile(n - 1)
            else:
                x = np.asarray(rows[name], dtype=float)
                mean, low, high = statistics.mean_ci(x)
                finite = x[np.isfinite(x)]
                sd = float(finite.std(ddof=1)) if len(finite) > 1 else np.nan
            out.append((point, strategy, name, mean, low, high, sd))
    return pd.DataFrame(
        out, columns=["point", "strategy", "metric", "mean", "low", "high", "replicate_sd"]
    )


# the inputs a store's results depend on ---------------------------------------------------------
def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def file_digest(path: str | Path | None) -> str | None:
    """A file's contents (not its path): editing the file must not reuse old results."""
    return None if path is None else _digest(Path(path).read_bytes())


def inputs(plan: Plan, points: pd.DataFrame, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Every input that changes a result, by what a user would call it."""
    out = {
        "kds-sim version": f"{__version__} (results epoch {RESULTS_EPOCH})",
        "seed": str(plan.seed),
        "replicates": str(plan.per_strategy),
        "metrics": _digest(json.dumps(plan.columns).encode()),
        "parameter sets (design)": _digest(
            pd.util.hash_pandas_object(points, index=False).to_numpy().tobytes()
        ),
    }
    for s in plan.strategies:
        data = s.model_dump(mode="json", exclude={"outputs": True, "calibration": True})
        out[f"strategy {s.name} (its file, every file it extends, overrides)"] = _digest(
            json.dumps(data, sort_keys=True).encode()
        )
        for key in ("edges_file", "nodes_file"):
            digest = file_digest(getattr(s.network, key))
            if digest:
                out[f"strategy {s.name}: network.{key} contents"] = digest
    return {**out, **(extra or {})}


# the evaluation ---------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """Per-replicate rows (point, strategy, replicate, metrics), optional survival curves and
    optional tables ((point, strategy) -> every replicate's daily and person table)."""

    results: pd.DataFrame
    curves: pd.DataFrame | None
    computed: int
    """Rows simulated in this call (the rest came from the store)."""
    backend: str
    tables: dict[tuple[int, str], tuple[pd.DataFrame, pd.DataFrame]] | None = None


Unit = tuple[int, tuple[int, ...]]
"""A point and some of its replicates: what one task runs of one point."""


def units(
    plan: Plan, wanted: Sequence[int], done: set[tuple[int, int]], parallelism: int
) -> list[Unit]:
    """The work not yet stored, as (point, replicates). A point that fills more than one
    engine batch is split into replicate ranges (enough to keep every worker busy); stored
    (point, replicate) pairs are left out, so a resumed evaluation runs only what is missing."""
    most = max(plan.per_strategy)
    span = most
    if plan.runs_per_point > ROWS_PER_TASK or (parallelism > 1 and len(wanted) < parallelism):
        parts = -(-most // max(1, ROWS_PER_TASK // len(plan.strategies)))
        if parallelism > 1:
            parts = max(parts, 4 * parallelism)
        parts = min(parts, most)
        span = -(-most // parts)
    out: list[Unit] = []
    for point in wanted:
        for first in range(0, most, span):
            todo = tuple(r for r in range(first, min(first + span, most)) if (point, r) not in done)
            if todo:
                out.append((point, todo))
    return out


def _runs(plan: Plan, unit: Unit) -> int:
    return sum(1 for n in plan.per_strategy for r in unit[1] if r < n)


def tasks(plan: Plan, todo: Sequence[Unit], per_task: int) -> Iterator[Task]:
    """Tasks of `per_task` units each, built as they are submitted (the scenarios of a point
    are validated here, in the coordinating process, once)."""
    names = [s.name for s in plan.strategies]
    settings = TaskSettings(
        tuple(plan.per_strategy),
        plan.seed,
        plan.stride,
        tuple(plan.columns),
        names.index(plan.reference) if plan.reference is not None else None,
        plan.survival_every,
        plan.tables,
    )
    for start in range(0, len(todo), per_task):
        yield (
            [(p, plan.scenarios(p), reps) for p, reps in todo[start : start + per_task]],
            settings,
        )


def evaluate(
    plan: Plan,
    backend: Backend | None = None,
    store: Store | None = None,
    progress: bool = True,
    points: Sequence[int] | None = None,
    label: str = "runs",
    points_per_task: int | None = None,
) -> Evaluation:
    """Run every point of `plan` (or `points`) not yet in `store`; commit each finished task.

    `points_per_task` (an experiment's `batch`) fixes how many parameter sets go to one task;
    by default as many as fill one engine batch, fewer when workers would otherwise idle.

    The store, when given, must be created (and locked) by the caller; its rows are the
    result, so a resumed evaluation returns exactly what an uninterrupted one would.
    """
    backend = backend or Backend()
    wanted = list(range(len(plan.changes))) if points is None else list(points)
    done = store.done_replicates(plan.per_strategy) if store is not None else set()
    todo = units(plan, wanted, done, backend.parallelism)
    if todo:
        plan.scenarios(todo[0][0])  # a refused parameter set fails before any simulation
    per_task = max(1, ROWS_PER_TASK // plan.runs_per_point)
    if backend.parallelism > 1:  # keep every worker busy to the end
        per_task = max(1, min(per_task, len(todo) // (4 * backend.parallelism)))
    if points_per_task is not None:
        per_task = points_per_task
    total = len(wanted) * plan.runs_per_point
    bar = tqdm(
        total=total,
        initial=total - sum(_runs(plan, u) for u in todo),
        desc=label,
        unit="run",
        disable=None if progress else True,
    )
    kept_rows: list[pd.DataFrame] = []
    kept_curves: list[pd.DataFrame] = []
    kept_tables: list[TableRow] = []
    computed = 0

    def finished(result: TaskResult) -> None:
        nonlocal computed
        computed += len(result.rows)
        kept_tables.extend(result.tables or [])  # not read back from the store
        if store is not None:
            store.add(result.rows, result.curves, result.tables)
        else:
            kept_rows.append(result.rows)
            if result.curves is not None:
                kept_curves.append(result.curves)
        bar.update(len(result.rows))

    try:
        backend.map(run_task, tasks(plan, todo, per_task), finished)
    finally:
        bar.close()
    tables = None
    if store is not None:
        results = store.results()
        results = results[results["point"].isin(wanted)].reset_index(drop=True)
        curves = None
        if plan.survival_every:
            curves = store.curves()
            curves = curves[curves["point"].isin(wanted)].reset_index(drop=True)
        if plan.tables:
            computed_now = {(p, s, r) for p, s, r, _, _ in kept_tables}
            tables = _frames([*kept_tables, *store.tables(wanted, computed_now)])
    else:
        results = _ordered(kept_rows, ["point", "strategy", "replicate"], plan)
        curves = _ordered(kept_curves, ["point", "strategy", "day"], plan) if kept_curves else None
        if plan.tables:
            tables = _frames(kept_tables)
    return Evaluation(results, curves, computed, backend.describe(), tables)


def _frames(
    rows: Iterable[TableRow],
) -> dict[tuple[int, str], tuple[pd.DataFrame, pd.DataFrame]]:
    """Every (point, strategy)'s rows as one daily and one person table, in replicate order,
    with a "replicate" first column (as the engine's per-replicate tables, concatenated)."""
    by: dict[tuple[int, str], list[TableRow]] = {}
    for row in rows:
        by.setdefault((row[0], row[1]), []).append(row)
    out = {}
    for key, found in by.items():
        found.sort(key=lambda row: row[2])
        replicates = np.array([r[2] for r in found], dtype=np.int64)
        pair = []
        for arrays in ([r[3] for r in found], [r[4] for r in found]):
            length = len(next(iter(arrays[0].values()))) if arrays[0] else 0
            pair.append(
                pd.DataFrame(
                    {
                        "replicate": np.repeat(replicates, length),
                        **{c: np.concatenate([a[c] for a in arrays]) for c in arrays[0]},
                    }
                )
            )
        out[key] = (pair[0], pair[1])
    return out


def _ordered(frames: list[pd.DataFrame], keys: list[str], plan: Plan) -> pd.DataFrame:
    """Rows in the store's order, whatever order the tasks finished in."""
    if not frames:
        cols = ["point", "strategy", "replicate", *plan.columns]
        return pd.DataFrame(columns=cols)
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(keys, kind="stable", ignore_index=True)


Sampler = Callable[[Plan], Evaluation]
