"""Comparing scenarios on common random numbers: what a policymaker asks of the model.

Every scenario runs the same replicates from the same root seed. Replicate i of each scenario
therefore starts from the same cohort, network and daily random numbers, and the per-replicate
differences against the reference measure the intervention, not noise.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kds_sim.analysis import metrics, runner, statistics
from kds_sim.io import display, plots
from kds_sim.io.scenario_files import ScenarioError, load_scenario
from kds_sim.model.scenario import Scenario


def _align(
    scenarios: list[Scenario],
    reference: Scenario,
    replicates: int | None,
    seed: int | None,
    horizon: int | None,
) -> list[Scenario]:
    """Give every scenario the same replicates, seed and horizon (from the reference)."""
    run = reference.run
    common = {
        "replicates": replicates or run.replicates,
        "seed": seed if seed is not None else run.seed,
        "horizon_days": horizon or run.horizon_days,
    }
    return [s.updated({f"run.{k}": v for k, v in common.items()}) for s in scenarios]


@dataclass
class ComparisonResult:
    """Runs of several scenarios against one reference, with paired contrasts."""

    __repr__ = display.comparison_repr  # one line, not the whole scenario
    _repr_html_ = display.comparison_html  # Jupyter: the headline table

    results: dict[str, runner.RunResult]
    reference: str

    @property
    def horizon(self) -> int:
        return self.results[self.reference].horizon

    @cached_property
    def table(self) -> pd.DataFrame:
        """Tidy: one row per scenario and metric, with mean and 95 % CI."""
        rows = []
        ref = self.results[self.reference]
        names = metrics.comparison_metrics(
            self.horizon, "continuous_abstinence_365d" in ref.metrics
        )
        for name, result in self.results.items():
            for metric in names:
                definition = metrics.get(metric)
                if isinstance(definition, metrics.Contrast):
                    mean, low, high = definition.compute(result, ref)
                else:
                    share = statistics.is_share(definition.unit)
                    mean, low, high = statistics.interval(result.values(metric), share)
                rows.append(
                    {
                        "scenario": name,
                        "reference": self.reference,
                        "metric": metric,
                        "unit": definition.unit,
                        "mean": mean,
                        "ci_low": low,
                        "ci_high": high,
                        "replicates": result.replicates,
                    }
                )
        return pd.DataFrame(rows)

    def wide(self, metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
        """One row per scenario, 'mean [low, high]' per metric, for printing."""
        table = self.table
        if metrics:
            table = table[table["metric"].isin(metrics)]
        cell = table.apply(lambda r: _fmt(r["mean"], r["ci_low"], r["ci_high"]), axis=1)
        out = table.assign(cell=cell).pivot(index="scenario", columns="metric", values="cell")
        return out.reindex(
            index=list(self.results),
            columns=[m for m in dict.fromkeys(table["metric"]) if m in out.columns],
        )

    def survival(self) -> pd.DataFrame:
        """Kaplan-Meier curves of every scenario (mean and 95 % CI by day), one table."""
        return self._survival.copy()

    @cached_property
    def _survival(self) -> pd.DataFrame:
        return pd.concat([r.survival() for r in self.results.values()], ignore_index=True)

    def plot_survival(self, ax: Any = None) -> Any:
        return plots.survival(self._survival, ax, "Relapse-free survival by scenario")

    def plot_forest(self, ax: Any = None, at: str | None = None) -> Any:
        """Relapses averted per 100 people at `at` ("180d", "365d" or "horizon"); default
        365d, or the horizon when the run is shorter than a year."""
        at = at or ("365d" if self.horizon >= 365 else "horizon")
        table = self.table
        rows = table[
            (table["metric"] == f"averted_per_100_{at}") & (table["scenario"] != self.reference)
        ].reset_index(drop=True)
        rows.attrs["xlabel"] = f"relapses averted per 100 people by {at} vs {self.reference}"
        return plots.forest(rows, ax, f"Relapses averted per 100 people ({at})")

    def plot_capacity(self) -> Any:
        groups = {n: r for n, r in self.results.items() if r.scenario.group.enabled}
        if not groups:
            return None
        import matplotlib.pyplot as plt

        cols = min(3, len(groups))
        rows = int(np.ceil(len(groups) / cols))
        figure, axes = plt.subplots(
            rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False, sharey=True
        )
        for ax, (name, result) in zip(axes.flat, groups.items(), strict=False):
            plots.capacity(result.daily, ax, name)
        for ax in list(axes.flat)[len(groups) :]:
            ax.set_visible(False)
        figure.tight_layout()
        return figure


SAME_EXCEPT = {"name", "label", "label_id", "description", "description_id", "interventions"}


def nested_pairs(scenarios: Sequence[Scenario]) -> set[tuple[str, str]]:
    """(outer, inner): strategies with a group whose settings agree and whose interventions
    hold every one of the inner's (and more). On common random numbers the outer one does
    what the inner does plus something, so it often ties with it; the brief says so rather
    than count the ties as wins."""

    def rest(s: Scenario) -> dict[str, Any]:
        return s.model_dump(exclude=SAME_EXCEPT | {"run", "costs", "uncertainty", "calibration"})

    def steps(s: Scenario) -> list[dict[str, Any]]:
        return [e.model_dump() for e in s.interventions]

    out = set()
    for outer in scenarios:
        for inner in scenarios:
            if outer is inner or not (outer.group.enabled and inner.group.enabled):
                continue
            if rest(outer) != rest(inner):
                continue
            mine, theirs = steps(outer), steps(inner)
            if len(theirs) < len(mine) and all(step in mine for step in theirs):
                out.add((outer.name, inner.name))
    return out


def _fmt(mean: float, low: float, high: float) -> str:
    if np.isnan(mean):
        return "n/a"
    mean, low, high = mean + 0.0, low + 0.0, high + 0.0  # print -0.0 as 0.0
    digits = 1 if abs(mean) >= 10 else 3
    if np.isnan(low):
        return f"{mean:.{digits}f} [CI n/a]"
    if low == high:  # a deterministic quantity, or no spread: a zero-width interval misleads
        return f"{mean:.{digits}f} (same in every replicate)"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def compare(
    scenarios: Sequence[Scenario | str | Path],
    reference: str | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    horizon: int | None = None,
    workers: int = 1,
    progress: bool = True,
    cache_dir: str | Path | None = None,
) -> ComparisonResult:
    """Run scenarios on common random numbers and contrast each with the reference.

    `reference` is a scenario name (default: the first scenario).
    """
    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        raise ScenarioError(f"scenario names must be unique to compare them; got {names}")
    reference = reference or names[0]
    if reference not in names:
        raise ScenarioError(
            f"reference = {reference!r} is not among the scenarios: {', '.join(names)}"
        )
    ref = loaded[names.index(reference)]
    for s in loaded:
        if (s.population.size, s.network) != (ref.population.size, ref.network):
            warnings.warn(
                f"{s.name}: population size or network settings differ from "
                f"{reference}; replicates are not the same cohorts, so paired "
                "contrasts lose their common-random-number pairing",
                stacklevel=2,
            )
    loaded = _align(loaded, ref, replicates, seed, horizon)
    runs = runner.run_many(loaded, workers, progress, cache_dir, label="scenarios")
    return ComparisonResult({s.name: r for s, r in zip(loaded, runs, strict=True)}, reference)
