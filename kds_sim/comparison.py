"""Comparing scenarios on common random numbers: what a policymaker asks of the model.

Every scenario runs the same replicates from the same root seed. Replicate i of each scenario
therefore starts from the same cohort, network and daily random numbers, and the per-replicate
differences against the reference measure the intervention, not noise.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from kds_sim import outcomes, plots, runner, storage
from kds_sim.parameters import Scenario
from kds_sim.scenario import ScenarioError, load_scenario, validate

DAY_MARKS = (180, 365)


def _align(scenarios: list[Scenario], reference: Scenario, replicates, seed, horizon):
    """Give every scenario the same replicates, seed and horizon (from the reference)."""
    run = reference.run
    common = {"replicates": replicates or run.replicates, "seed": seed if seed is not None
              else run.seed, "horizon_days": horizon or run.horizon_days}
    aligned = []
    for s in scenarios:
        data = s.model_dump()
        data["run"] = {**data["run"], **common}
        aligned.append(validate(data, source=f"{s.name} (compare options)"))
    return aligned


@dataclass
class ComparisonResult:
    """Runs of several scenarios against one reference, with paired contrasts."""

    results: dict[str, runner.RunResult]
    reference: str

    @property
    def horizon(self) -> int:
        return self.results[self.reference].horizon

    @cached_property
    def table(self) -> pd.DataFrame:
        """Tidy: one row per scenario and metric, with mean and 95 % CI."""
        rows = []
        ref = self.results[self.reference].metrics
        marks = [d for d in DAY_MARKS if d <= self.horizon]
        for name, result in self.results.items():
            m = result.metrics

            def add(metric, values, unit, name=name, result=result):
                mean, low, high = values
                rows.append({"scenario": name, "reference": self.reference, "metric": metric,
                             "unit": unit, "mean": mean, "ci_low": low, "ci_high": high,
                             "replicates": result.replicates})

            for d in marks:
                add(f"relapse_{d}d", outcomes.mean_ci(m[f"relapse_{d}d"]), "share")
            add("relapse_horizon", outcomes.mean_ci(m["relapse_horizon"]), "share")
            for d in [*marks, "horizon"]:
                col = f"relapse_{d}d" if d != "horizon" else "relapse_horizon"
                diff = outcomes.paired_difference(m[["replicate", col]], ref[["replicate", col]])
                tag = f"{d}d" if d != "horizon" else "horizon"
                add(f"difference_{tag}", diff, "share (scenario - reference)")
                add(f"relative_risk_{tag}", outcomes.ratio_ci(m[col], ref[col]),
                    "ratio of relapse risks")
                add(f"averted_per_100_{tag}", (-100 * diff[0], -100 * diff[2], -100 * diff[1]),
                    "relapses averted per 100 people")
                add(f"nnt_{tag}", _nnt(diff), "people per relapse averted")
            if "continuous_abstinence_365d" in m:
                add("abstinence_rr_365d",
                    outcomes.ratio_ci(m["continuous_abstinence_365d"],
                                      ref["continuous_abstinence_365d"]),
                    "risk ratio of continuous abstinence at 12 months")
                add("abstinence_rr_365d_members",
                    _members_rr(result.people, self.results[self.reference].people),
                    "risk ratio of continuous abstinence at 12 months among the scenario's "
                    "members, against the same people in the reference")
            add("capacity_end", outcomes.mean_ci(m["capacity_end"]), "PEKA 1-4")
        return pd.DataFrame(rows)

    def wide(self, metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
        """One row per scenario, 'mean [low, high]' per metric, for printing."""
        table = self.table
        if metrics:
            table = table[table["metric"].isin(metrics)]
        cell = table.apply(lambda r: _fmt(r["mean"], r["ci_low"], r["ci_high"]), axis=1)
        out = table.assign(cell=cell).pivot(index="scenario", columns="metric", values="cell")
        return out.reindex(index=list(self.results), columns=[
            m for m in dict.fromkeys(table["metric"]) if m in out.columns])

    def survival(self) -> pd.DataFrame:
        """Kaplan-Meier curves of every scenario (mean and 95 % CI by day), one table."""
        return self._survival.copy()

    @cached_property
    def _survival(self) -> pd.DataFrame:
        return pd.concat([r.survival() for r in self.results.values()], ignore_index=True)

    def plot_survival(self, ax=None):
        return plots.survival(self._survival, ax, "Relapse-free survival by scenario")

    def plot_forest(self, ax=None, at: str | None = None):
        """Relapses averted per 100 people at `at` ("180d", "365d" or "horizon"); default
        365d, or the horizon when the run is shorter than a year."""
        at = at or ("365d" if self.horizon >= 365 else "horizon")
        table = self.table
        rows = table[(table["metric"] == f"averted_per_100_{at}")
                     & (table["scenario"] != self.reference)].reset_index(drop=True)
        rows.attrs["xlabel"] = f"relapses averted per 100 people by {at} vs {self.reference}"
        return plots.forest(rows, ax, f"Relapses averted per 100 people ({at})")

    def plot_capacity(self):
        groups = {n: r for n, r in self.results.items() if r.scenario.group.enabled}
        if not groups:
            return None
        import matplotlib.pyplot as plt

        cols = min(3, len(groups))
        rows = int(np.ceil(len(groups) / cols))
        figure, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows),
                                    squeeze=False, sharey=True)
        for ax, (name, result) in zip(axes.flat, groups.items(), strict=False):
            plots.capacity(result.daily, ax, name)
        for ax in list(axes.flat)[len(groups):]:
            ax.set_visible(False)
        figure.tight_layout()
        return figure

    def save(self, out: str | Path) -> list[Path]:
        from kds_sim import html_report

        out = Path(out)
        written = storage.write_table(out / "comparison", self.table)
        written += storage.write_table(out / "survival", self._survival)
        for name, result in self.results.items():
            written += storage.write_table(out / "scenarios" / name / "summary", result.summary())
            daily_mean = result.daily.drop(columns="replicate").groupby("day").mean()
            written += storage.write_table(out / "scenarios" / name / "daily_mean",
                                           daily_mean.reset_index())
        figures = {}
        figure, ax = plots.new_axes(8, 4.8)
        self.plot_survival(ax)
        figures["survival"] = storage.write_figure(out / "survival.png", figure)
        if len(self.results) > 1:
            figure, ax = plots.new_axes(7, 0.9 + 0.5 * (len(self.results) - 1))
            self.plot_forest(ax)
            figures["forest"] = storage.write_figure(out / "forest.png", figure)
        figure = self.plot_capacity()
        if figure is not None:
            figures["capacity"] = storage.write_figure(out / "capacity.png", figure)
        written += figures.values()
        written.append(html_report.write(self, figures, out / "report.html"))
        return written


def _members_rr(people: pd.DataFrame, reference: pd.DataFrame) -> tuple[float, float, float]:
    """Continuous abstinence among members vs the same people without the scenario's group.

    Common random numbers make person i of replicate r the same person in both scenarios,
    so this is the analogue of a trial of offering the group (Kelly et al. 2020).
    """
    if not people["member"].any():
        return np.nan, np.nan, np.nan
    abstinent = "continuous_abstinent"

    def mark(table):
        lapse = table["first_lapse_day"]
        return table.assign(**{abstinent: lapse.isna() | (lapse > 365)})

    joined = mark(people).merge(mark(reference), on=["replicate", "person"],
                                suffixes=("", "_ref"))
    members = joined[joined["member"]]
    shares = members.groupby("replicate")[[abstinent, abstinent + "_ref"]].mean()
    return outcomes.ratio_ci(shares[abstinent].to_numpy(), shares[abstinent + "_ref"].to_numpy())


def _nnt(diff: tuple[float, float, float]) -> tuple[float, float, float]:
    """Number needed to treat = 1 / absolute risk reduction; undefined where the CI spans 0."""
    mean, low, high = (-v for v in diff)  # reduction = -(difference)
    value = 1 / mean if mean > 0 else np.nan
    if low > 0 and high > 0 or low < 0 and high < 0:
        lower, upper = sorted((1 / low, 1 / high))
        return value, lower, upper
    return value, np.nan, np.nan


def _fmt(mean: float, low: float, high: float) -> str:
    if np.isnan(mean):
        return "n/a"
    mean, low, high = mean + 0.0, low + 0.0, high + 0.0  # print -0.0 as 0.0
    digits = 1 if abs(mean) >= 10 else 3
    if np.isnan(low):
        return f"{mean:.{digits}f} [CI n/a]"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def compare(scenarios: list[Scenario | str | Path], reference: str | None = None,
            replicates: int | None = None, seed: int | None = None, horizon: int | None = None,
            workers: int = 1, progress: bool = True,
            cache_dir: str | Path | None = None) -> ComparisonResult:
    """Run scenarios on common random numbers and contrast each with the reference.

    `reference` is a scenario name (default: the first scenario).
    """
    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        raise ScenarioError(f"scenario names must be unique to compare them; got {names}")
    reference = reference or names[0]
    if reference not in names:
        raise ScenarioError(f"--reference {reference!r} is not among the scenarios: "
                            f"{', '.join(names)}")
    ref = loaded[names.index(reference)]
    for s in loaded:
        if (s.population.size, s.network) != (ref.population.size, ref.network):
            warnings.warn(f"{s.name}: population size or network settings differ from "
                          f"{reference}; replicates are not the same cohorts, so paired "
                          "contrasts lose their common-random-number pairing", stacklevel=2)
    loaded = _align(loaded, ref, replicates, seed, horizon)
    results = {}
    pool = runner.worker_pool(workers) if workers > 1 else None
    try:
        for s in loaded:
            cache = Path(cache_dir) / s.name if cache_dir else None
            results[s.name] = runner.run(s, progress=progress, cache_dir=cache, pool=pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return ComparisonResult(results, reference)


HEADLINE = ("relapse_180d", "relapse_365d", "averted_per_100_365d", "nnt_365d",
            "abstinence_rr_365d", "abstinence_rr_365d_members", "capacity_end")


def cmd_compare(args) -> int:
    from kds_sim.cli import _overrides

    overrides = _overrides(args)
    scenarios = [load_scenario(path, overrides) for path in args.scenarios]
    first = scenarios[0].name
    out = Path(args.out or Path("results") / "comparison")
    result = compare(scenarios, reference=args.reference, replicates=args.replicates,
                     seed=args.seed, horizon=args.horizon, workers=args.workers,
                     progress=not args.no_progress,
                     cache_dir=None if args.no_resume else out / ".replicates")
    ref = result.results[result.reference]
    print(f"{len(scenarios)} scenarios x {ref.replicates} replicates of "
          f"{ref.cohort_size} people, {ref.horizon} days, seed {ref.seed}, "
          f"common random numbers; reference: {result.reference or first}")
    metrics = HEADLINE + (("relapse_horizon", "averted_per_100_horizon")
                          if ref.horizon != 365 else ())
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(result.wide(metrics).to_string())
    written = result.save(out)
    print(f"wrote {len(written)} files to {out}/ (open {out / 'report.html'})")
    return 0


def add_command(sub, add_run_options) -> None:
    parser = sub.add_parser(
        "compare", help="compare scenarios on common random numbers (the policy table)",
        description="Run scenarios on common random numbers and report, against a reference, "
                    "relapse at 6 and 12 months, relapses averted per 100 people, number "
                    "needed to treat, abstinence risk ratio and group capacity, each with a "
                    "95 % CI. Writes comparison.csv/.parquet, figures and report.html.")
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario files")
    parser.add_argument("--reference", metavar="NAME",
                        help="scenario to compare against (default: the first)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default results/comparison)")
    add_run_options(parser)
    parser.set_defaults(func=cmd_compare)
