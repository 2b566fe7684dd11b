"""Experiments over many parameters: sweeps, global sensitivity and scenario discovery.

    result = sweep("experiments/designs/smoke.toml", out="results/smoke")
    result.table          # per point, strategy and outcome: mean and 95 % CI over replicates
    result.sobol("relapse_365d")   result.morris(...)   result.prim(..., threshold=3)

Design points x replicates become runs; replicate i of every point shares its seed
(SeedSequence(experiment seed, spawn_key=(i,))), so results do not depend on where or in what
order runs execute. The store (SQLite in WAL mode) commits each finished batch, so a killed
sweep resumes without losing or double-counting a run.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kds_sim.analysis import estimate, evaluation, metrics
from kds_sim.analysis.backend import Backend
from kds_sim.analysis.store import Store
from kds_sim.analysis.sweep import analyse, design
from kds_sim.analysis.sweep.design import Experiment, load_experiment
from kds_sim.errors import InputError, StoreError
from kds_sim.io import display, storage
from kds_sim.io.scenario_files import load_scenario

STORE = "sweep.sqlite"

__all__ = ["Experiment", "StoreError", "SweepResult", "load_experiment", "open_store", "sweep"]


def _columns(exp: Experiment, horizon: int) -> list[str]:
    """Per-replicate metrics stored for every run: the standard set, outcomes, contrast inputs.
    Checked before the first simulation: an outcome must be computable by the horizon."""
    cols = [m for m in metrics.PER_REPLICATE if metrics.get(m).days <= horizon]
    for name in exp.outcomes:
        need = analyse.contrast_column(name) if metrics.is_contrast(name) else name
        if need is None:
            raise StoreError(f"{exp.source}: outcomes = {name!r}: not computable in a sweep")
        days = metrics.get(name).days
        if days > horizon:
            raise InputError(
                f"{exp.source}: outcomes = {name!r} needs {days} days of follow-up, but "
                f"run.horizon_days = {horizon}; allowed: outcomes of at most {horizon} days, "
                "or a longer horizon"
            )
        if need not in cols:
            cols.append(need)
    return cols


def _design_of(dumped: dict[str, Any]) -> dict[str, Any]:
    """An experiment without where its file is: the same design reached by another path."""
    return {k: v for k, v in dumped.items() if k not in ("source", "root")}


def _meta(exp: Experiment, points: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    return {
        "experiment_file": exp.source,
        "experiment_text": Path(exp.source).read_text(encoding="utf-8"),
        "experiment": exp.model_dump(mode="json"),
        "problem": design.problem(exp),
        "points": len(points),
        "columns": columns,
        "strategies": [str(p) for p in exp.all_paths().values()],
        "reference": exp.reference_name,
    }


def _plan(exp: Experiment, points: pd.DataFrame, cols: list[str]) -> evaluation.Plan:
    """Every strategy file read once; a point is its dotted-key changes."""
    strategies = [load_scenario(path, exp.set) for path in exp.all_paths().values()]
    strategies = [
        s.updated({"name": name}) if s.name != name else s
        for s, name in zip(strategies, exp.all_paths(), strict=True)
    ]
    base = strategies[0]
    changes = [design.point_overrides(exp, points, p, base) for p in range(len(points))]
    _note_inert(exp, strategies)
    return evaluation.Plan(strategies, changes, exp.replicates, exp.seed, cols, exp.reference_name)


GROUP_KEYS = ("group.", "interventions", "intervention_effects.")


def _note_inert(exp: Experiment, strategies: list[Any]) -> None:
    """A factor that cannot act on a strategy (a group setting where there is no group)."""
    for s in strategies:
        if s.group.enabled:
            continue
        inert = [f for f in exp.factors if f.startswith(GROUP_KEYS) and f != "group.enabled"]
        if inert:
            warnings.warn(
                f"{exp.source}: factors {', '.join(inert)} cannot act on strategy {s.name} "
                "(group.enabled = false): its results do not vary with them, and their "
                "indices for it are 0",
                stacklevel=3,
            )


def sweep(
    experiment: str | Path,
    out: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> SweepResult:
    """Run an experiment file into the store at `out` (default results/sweeps/NAME)."""
    exp = load_experiment(experiment)
    backend = Backend(workers, scheduler, dask_local)
    folder = Path(out) if out else Path("results") / "sweeps" / exp.name
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"{folder}: exists and is not a folder; allowed: a folder path")
    base = load_scenario(exp.strategy_paths()[0], exp.set)
    horizon = base.run.horizon_days
    cols = _columns(exp, horizon)
    n_points = design.point_count(exp)
    runs = design.run_count(exp, n_points)
    estimate.check(
        estimate.estimate(
            runs, base.population.size, horizon, len(cols), n_points * 2 * len(exp.factors)
        ),
        f"{exp.source}: {exp.design.method} design of {n_points:,} points",
        folder,
        backend.parallelism,
    )
    backend.check()
    points = design.sample(exp)
    plan = _plan(exp, points, cols)
    inputs = evaluation.inputs(plan, points)
    store = Store(folder / STORE)
    store.lock()
    try:
        if store.exists():
            if not resume:
                raise StoreError(
                    f"{store.path} already holds a sweep; allowed: resume=True to finish it, "
                    "or another folder"
                )
            old = store.meta()
            if _design_of(old.get("experiment", {})) != _design_of(exp.model_dump(mode="json")):
                raise StoreError(
                    f"{store.path} holds experiment {old.get('experiment_file')!r} with a "
                    "different design; allowed: another folder"
                )
            store.check_inputs(inputs)
        else:
            store.create({**_meta(exp, points, cols), "inputs": inputs}, points, cols)
        started = time.perf_counter()
        done = evaluation.evaluate(
            plan, backend, store, progress, label=exp.name, points_per_task=exp.batch
        )
        elapsed = time.perf_counter() - started
        result = SweepResult(folder, exp, store.points(), done.results)
        result.export()
        result.timing = {"runs": done.computed, "seconds": elapsed, "executor": done.backend}
    finally:
        store.close()
    return result


def open_store(folder: str | Path) -> SweepResult:
    """A finished (or partial) sweep, read back from its store."""
    store = Store(Path(folder) / STORE)
    if not store.exists():
        raise StoreError(f"{store.path}: no sweep store here (run a sweep into it first)")
    try:
        meta = store.meta()
        try:
            exp = Experiment.model_validate(meta["experiment"])
        except (KeyError, ValueError):
            raise StoreError(f"{store.path}: not a sweep store (no experiment in it)") from None
        return SweepResult(Path(folder), exp, store.points(), store.results())
    finally:
        store.close()


@dataclass
class SweepResult:
    """A sweep's points and per-replicate results, and the analyses of them."""

    __repr__ = display.sweep_repr  # one line, not the whole scenario
    _repr_html_ = display.sweep_html  # Jupyter: the headline table

    folder: Path
    experiment: Experiment
    points: pd.DataFrame
    results: pd.DataFrame
    timing: dict[str, Any] = field(default_factory=dict)
    _table: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def table(self) -> pd.DataFrame:
        """Per point, strategy and outcome: mean and 95 % CI over replicates (tidy)."""
        if self._table is None:
            self._table = analyse.outcome_table(
                self.results, self.experiment.outcomes, self.experiment.reference_name
            )
        return self._table

    @property
    def main_strategy(self) -> str:
        return Path(self.experiment.strategies[0]).stem

    @property
    def complete(self) -> bool:
        exp = self.experiment
        return len(self.results) == design.run_count(exp, len(self.points))

    def _y(self, outcome: str, strategy: str | None) -> np.ndarray:
        return analyse.outcome_vector(self.table, outcome, strategy or self.main_strategy)

    def sobol(self, outcome: str, strategy: str | None = None) -> pd.DataFrame:
        """Sobol S1 and ST with 95 % bootstrap CIs (needs a sobol design)."""
        self._need("sobol")
        d = self.experiment.design
        table = analyse.sobol(
            design.problem(self.experiment), self._y(outcome, strategy), d.second_order, d.seed
        )
        table.insert(0, "outcome", outcome)
        return table

    def morris(self, outcome: str, strategy: str | None = None) -> pd.DataFrame:
        """Morris mu*, its CI, and sigma (needs a morris design)."""
        self._need("morris")
        x = self.points[list(self.experiment.factors)].to_numpy(dtype=float)
        d = self.experiment.design
        table = analyse.morris(
            design.problem(self.experiment), x, self._y(outcome, strategy), d.levels, d.seed
        )
        table.insert(0, "outcome", outcome)
        return table

    def prim(
        self, outcome: str, threshold: float, below: bool = True, strategy: str | None = None
    ) -> pd.DataFrame:
        """PRIM boxes where `outcome` is below (or above) `threshold`."""
        x = self.points[list(self.experiment.factors)]
        table = analyse.prim_boxes(x, self._y(outcome, strategy), threshold, below)
        table.insert(0, "outcome", outcome)
        table.insert(1, "rule", f"{'<' if below else '>'} {threshold:g}")
        return table

    def surface(self, outcome: str, x: str, y: str, strategy: str | None = None) -> pd.DataFrame:
        """Mean and CI of `outcome` over two grid factors."""
        return analyse.surface(
            self.table, self.points, outcome, strategy or self.main_strategy, x, y
        )

    def _need(self, method: str) -> None:
        if self.experiment.design.method != method:
            raise ValueError(
                f"{method} indices need a {method} design; this sweep is "
                f"{self.experiment.design.method}"
            )

    def export(self) -> list[Path]:
        """Tidy CSV + Parquet copies of points, per-replicate results and the outcome table."""
        written: list[Path] = []
        for name, frame in (
            ("points", self.points),
            ("results", self.results),
            ("outcomes", self.table),
        ):
            written += storage.write_table(self.folder / f"{name}.csv", frame)
        return written

    def summary(self) -> str:
        exp = self.experiment
        lines = [
            f"{exp.name}: {exp.design.method} design, {len(self.points)} points x "
            f"{len(exp.all_paths())} strategies x {exp.replicates} replicates = "
            f"{len(self.results)} runs stored in {self.folder}"
        ]
        if self.timing.get("runs"):
            t = self.timing
            lines.append(
                f"this session: {t['runs']} runs in {t['seconds']:.1f} s "
                f"({t['runs'] / max(t['seconds'], 1e-9):.1f} runs/s) on {t['executor']}"
            )
        main = self.table[self.table["strategy"] == self.main_strategy]
        for outcome, rows in main.groupby("outcome", sort=False):
            lines.append(
                f"  {outcome} ({self.main_strategy}): mean over points "
                f"{rows['mean'].mean():.4g}, range {rows['mean'].min():.4g} to "
                f"{rows['mean'].max():.4g}"
            )
        return "\n".join(lines)

    # figures -----------------------------------------------------------------------------------
    def plot_sobol(self, outcome: str, strategy: str | None = None) -> Any:
        from kds_sim.analysis.sweep import figures

        return figures.sobol_figure(self.sobol(outcome, strategy))

    def plot_morris(self, outcome: str, strategy: str | None = None) -> Any:
        from kds_sim.analysis.sweep import figures

        return figures.morris_figure(self.morris(outcome, strategy))

    def plot_surface(self, outcome: str, x: str, y: str, strategy: str | None = None) -> Any:
        from kds_sim.analysis.sweep import figures

        return figures.surface_figure(self.surface(outcome, x, y, strategy), outcome, x, y)

    def plot_prim(self, outcome: str, threshold: float, below: bool = True) -> Any:
        from kds_sim.analysis.sweep import figures

        return figures.prim_figure(self.prim(outcome, threshold, below), self.points)
