"""Parameter uncertainty in policy answers: probabilistic sensitivity analysis over draws.

D parameter sets are drawn (from the priors, or jointly from a calibration posterior with the
remaining parameters from their priors). Every strategy runs R replicates at every draw; all
strategies share each draw's parameters and random numbers (replicate i of draw d starts from
SeedSequence(draw seed, spawn_key=(i,))), so contrasts are paired within a draw. Per draw, a
metric is the mean over its R replicates. Across draws:

- the 95 % uncertainty interval (UI): the 2.5th to 97.5th percentile of the per-draw values,
  parameter and stochastic uncertainty together: the interval a policy figure needs;
- the Monte Carlo CI of the mean: how precisely D draws estimate the mean. It shrinks as D
  grows and says nothing about what is unknown.

Parameters the strategies set differently (levers) are not drawn: each strategy keeps its own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from kds_sim.analysis import costs, metrics, runner, statistics
from kds_sim.analysis.sweep.execute import Executor
from kds_sim.io import display, storage
from kds_sim.io.scenario_files import ScenarioError, get_dotted, validate
from kds_sim.model.ensemble import simulate_batch
from kds_sim.model.priors import Prior, priors_of
from kds_sim.model.scenario import Scenario

PRIOR = "prior"
POSTERIOR = "posterior"
SURVIVAL_EVERY = 7
"""Days between the points of each draw's survival curve (fan charts)."""


def _set(data: dict[str, Any], key: str, value: float) -> None:
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node[part]
    old = node[parts[-1]]
    node[parts[-1]] = int(round(value)) if isinstance(old, int) else float(value)


def scenario_priors(scenario: Scenario) -> dict[str, Prior]:
    """Every parameter's prior, with the scenario's `[uncertainty.priors]` replacing rules."""
    own = {k: spec.prior() for k, spec in scenario.uncertainty.priors.items()}
    priors = priors_of(scenario, own)
    unknown = sorted(set(own) - set(priors))
    if unknown:
        raise ScenarioError(
            f"{scenario.name}: uncertainty.priors names {', '.join(unknown)}: not a numeric "
            "parameter of this scenario; allowed: a dotted key from docs/parameters.md"
        )
    return priors


def read_posterior(path: str | Path) -> pd.DataFrame:
    """A posterior ensemble: one column per parameter and `weight` (normalised here). A file
    that is not one (not Parquet or CSV, empty, a text column, a NaN or infinite value, a
    negative weight) is refused with its file, column and what is allowed."""
    path = Path(path)
    allowed = "allowed: a Parquet file written by `kds-sim calibrate --method abc`"
    if not path.is_file():
        raise ScenarioError(f"{path}: posterior file not found; {allowed}")
    try:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as err:  # pyarrow, pandas and OS errors alike: the file is not usable
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise ScenarioError(f"{path}: not a readable posterior ({reason}); {allowed}") from None
    if "weight" not in table or len(table) == 0:
        raise ScenarioError(f"{path}: a posterior needs rows and a `weight` column; {allowed}")
    for column in table.columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            shown = repr(table[column].iloc[row])[:40]
            raise ScenarioError(
                f"{path}: column {str(column)[:60]!r}, row {row}: {shown} ({int(bad.sum())} such "
                f"rows); allowed: finite numbers in every column"
            )
    weights = table["weight"].to_numpy(dtype=float)
    if not (np.all(weights >= 0) and weights.sum() > 0):
        raise ScenarioError(
            f"{path}: column 'weight': allowed: numbers >= 0, not all 0 "
            f"(found {weights.min():g} to {weights.max():g})"
        )
    return table.assign(weight=weights / weights.sum())


@dataclass
class DrawPlan:
    """Which parameters are drawn, from what, and the drawn values (one row per draw)."""

    source: str
    draws: pd.DataFrame
    priors: dict[str, Prior]
    from_posterior: list[str]
    levers: list[str]
    option: str = PRIOR
    """How to ask for these draws again: `--uncertainty prior|posterior|FILE`."""
    particles: np.ndarray | None = None
    """The posterior row (particle) each draw took; None when nothing is drawn from one."""

    @property
    def keys(self) -> list[str]:
        return [c for c in self.draws.columns if c != "draw"]


def plan_draws(
    scenarios: Sequence[Scenario],
    reference: Scenario,
    source: str | Path | None,
    draws: int,
    seed: int,
) -> DrawPlan:
    """Draw D parameter sets shared by every strategy.

    `source`: "prior"; "posterior" (the reference's `uncertainty.posterior`); or a posterior
    file. Posterior rows are drawn with their weights; other parameters from their priors.
    """
    if draws < 2:
        raise ScenarioError(f"--draws {draws}: allowed: 2 or more")
    for other in scenarios:
        if other.uncertainty != reference.uncertainty:
            raise ScenarioError(
                f"{other.name}: its [uncertainty] section differs from the reference "
                f"{reference.name}'s ({other.uncertainty.model_dump()} against "
                f"{reference.uncertainty.model_dump()}); allowed: the same section in every "
                "strategy (they share the draws): put it in a file they all `extends`"
            )
    priors = scenario_priors(reference)
    levers = sorted(
        k
        for k, p in priors.items()
        if not p.is_fixed
        and any(_value(s, k) != _value(reference, k) for s in scenarios if s is not reference)
    )
    vary = reference.uncertainty.vary
    unknown = sorted(set(vary or ()) - set(priors))
    if unknown:
        raise ScenarioError(
            f"{reference.name}: uncertainty.vary names {', '.join(unknown)}: not a numeric "
            "parameter of this scenario; allowed: a dotted key from docs/parameters.md"
        )
    drawn = [
        k
        for k, p in priors.items()
        if not p.is_fixed and k not in levers and (vary is None or k in vary)
    ]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**32 - 1,)))
    columns: dict[str, np.ndarray] = {"draw": np.arange(draws)}
    from_posterior: list[str] = []
    posterior_file = None
    rows = None
    if source in (None, PRIOR):
        label = PRIOR
    elif source == POSTERIOR:
        posterior_file = reference.uncertainty.posterior
        if posterior_file is None:
            raise ScenarioError(
                f"{reference.name}: --uncertainty posterior, but uncertainty.posterior is not "
                "set in the scenario; allowed: set it, pass a posterior file, or use prior"
            )
        label = f"posterior {Path(posterior_file).name}"
    else:
        posterior_file = str(source)
        label = f"posterior {Path(posterior_file).name}"
    if posterior_file is not None:
        posterior = read_posterior(posterior_file)
        unknown = [c for c in posterior.columns if c != "weight" and c not in priors]
        if unknown:
            raise ScenarioError(
                f"{posterior_file}: columns {', '.join(unknown)} are not numeric parameters "
                f"of {reference.name}"
            )
        rows = rng.choice(len(posterior), size=draws, p=posterior["weight"].to_numpy())
        from_posterior = [
            c
            for c in posterior.columns
            if c != "weight" and c not in levers and (vary is None or c in vary)
        ]
        for key in from_posterior:
            columns[key] = posterior[key].to_numpy(dtype=float)[rows]
    for key in drawn:
        if key not in from_posterior:
            columns[key] = priors[key].sample(rng, draws)
    option = PRIOR if posterior_file is None else POSTERIOR if source == POSTERIOR else str(source)
    particles = rows if from_posterior else None
    return DrawPlan(label, pd.DataFrame(columns), priors, from_posterior, levers, option, particles)


def _value(scenario: Scenario, key: str) -> Any:
    try:
        return get_dotted(scenario, key)
    except KeyError:
        return None


def at_draw(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """The scenario with one draw's parameter values (validated: a draw the schema refuses is
    reported with its values)."""
    data = scenario.model_dump()
    for key, value in values.items():
        _set(data, key, value)
    return validate(data, source=f"{scenario.name} at a parameter draw {values}")


DrawTask = tuple[list[tuple[int, list[str]]], str, int, int, list[str]]
"""([(draw, strategy scenario JSONs)], reference name, replicates, root seed, metric names)."""

DRAW_STRIDE = 1_000_000
"""Replicate r of draw d runs from SeedSequence(seed, spawn_key=(d * DRAW_STRIDE + r,)):
draws are independent, strategies within a draw share random numbers, and draw 0 uses the
seeds of a plain run. A row's seed depends on nothing else, so batching and order do not
matter."""

ROWS_PER_TASK = 96
"""Simulated rows (strategies x replicates x draws) stepped together: enough to amortise the
per-day overhead of the batched engine."""


def run_draws(task: DrawTask) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """All strategies at a few draws, stepped as one batch: per-draw metric values and
    survival curves. Runs on a worker; the result depends only on the task."""
    items, reference, replicates, seed, names = task
    rows: list[Scenario] = []
    indices: list[int] = []
    parsed = []
    for draw, payloads in items:
        strategies = [Scenario.model_validate_json(p) for p in payloads]
        parsed.append((draw, strategies))
        for s in strategies:
            rows += [s] * replicates
            indices += [draw * DRAW_STRIDE + r for r in range(replicates)]
    tables = simulate_batch(rows, seed, indices)
    out = []
    start = 0
    for draw, strategies in parsed:
        results = {}
        for s in strategies:
            part = tables[start : start + replicates]
            start += replicates
            daily = pd.concat([t[0] for t in part], ignore_index=True)
            people = pd.concat([t[1] for t in part], ignore_index=True)
            for frame in (daily, people):
                frame["replicate"] -= draw * DRAW_STRIDE
            results[s.name] = runner.RunResult(s, seed, daily, people)
        out.append(_measure(draw, results, reference, names, replicates))
    return out


PAIRED_MEANS = ("averted_per_100_", "difference_")
"""Contrasts that are means of per-replicate paired differences (their CI is symmetric)."""


def t_quantile(df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, df))


def _measure(
    draw: int,
    results: dict[str, runner.RunResult],
    reference: str,
    names: list[str],
    replicates: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    ref = results[reference]
    values, curves = [], []
    days = None
    for name, result in results.items():
        for metric in names:
            definition = metrics.get(metric)
            sd = np.nan
            if isinstance(definition, metrics.Contrast):
                mean, low, high = definition.compute(result, ref)
                if metric.startswith(PAIRED_MEANS) and replicates > 1:
                    # a mean of paired differences with a Student-t CI: its replicate sd
                    sd = (high - low) / 2 * np.sqrt(replicates) / t_quantile(replicates - 1)
            else:
                per_rep = result.values(metric)
                finite = per_rep[np.isfinite(per_rep)]
                mean = float(finite.mean()) if len(finite) else np.nan
                sd = float(finite.std(ddof=1)) if len(finite) > 1 else np.nan
            values.append(
                {
                    "draw": draw,
                    "strategy": name,
                    "metric": metric,
                    "value": mean,
                    "replicate_sd": sd,
                }
            )
        days = np.arange(0, result.horizon + 1, SURVIVAL_EVERY)
        curve = np.mean(
            [statistics.kaplan_meier(g, days) for _, g in result.people.groupby("replicate")],
            axis=0,
        )
        curves.append(
            pd.DataFrame({"draw": draw, "strategy": name, "day": days, "survival": curve})
        )
    return pd.DataFrame(values), pd.concat(curves, ignore_index=True)


def uncertainty_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return np.nan, np.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


@dataclass
class UncertaintyResult:
    """Per-draw values of every strategy and metric, and what they say across draws."""

    __repr__ = display.uncertainty_repr  # one line, not the whole scenario
    _repr_html_ = display.uncertainty_html  # Jupyter: the headline table

    plan: DrawPlan
    values: pd.DataFrame
    curves: pd.DataFrame
    reference: str
    replicates: int
    seed: int
    timing: dict[str, Any] = field(default_factory=dict)
    costs: pd.DataFrame | None = None
    currency: str | None = None
    illustrative_costs: bool = False

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(self.values["strategy"]))

    @property
    def draws(self) -> int:
        return int(self.values["draw"].nunique())

    def matrix(self, metric: str) -> pd.DataFrame:
        """Draws x strategies for one metric."""
        table = self.values[self.values["metric"] == metric]
        wide = table.pivot(index="draw", columns="strategy", values="value")
        return wide.reindex(columns=self.strategies)

    def summary(self) -> pd.DataFrame:
        """Per strategy and metric: mean over draws, 95 % UI, Monte Carlo CI of the mean, and
        the mean replicate-level Monte Carlo CI half-width at one draw."""
        rows = []
        for (strategy, metric), part in self.values.groupby(["strategy", "metric"], sort=False):
            x = part["value"].to_numpy(dtype=float)
            mean, mc_low, mc_high = statistics.mean_ci(x)
            ui_low, ui_high = uncertainty_interval(x)
            rows.append(
                {
                    "strategy": strategy,
                    "reference": self.reference,
                    "metric": metric,
                    "unit": metrics.get(str(metric)).unit,
                    "mean": mean,
                    "ui_low": ui_low,
                    "ui_high": ui_high,
                    "mc_ci_low": mc_low,
                    "mc_ci_high": mc_high,
                    "draws": int(np.isfinite(x).sum()),
                    "replicates": self.replicates,
                }
            )
        return pd.DataFrame(rows)

    def probability_best(self, metric: str = "averted_per_100_365d") -> pd.DataFrame:
        """Share of draws in which each strategy is best (most relapses averted; the
        reference averts 0). Ties share the draw."""
        wide = self.matrix(metric).fillna(0.0)
        x = wide.to_numpy()
        best = x == x.max(axis=1, keepdims=True)
        share = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
        return pd.DataFrame({"strategy": wide.columns, "metric": metric, "probability_best": share})

    def probability_at_least(
        self, threshold: float, metric: str = "averted_per_100_365d"
    ) -> pd.DataFrame:
        """Share of draws in which each strategy reaches `threshold` on `metric`."""
        wide = self.matrix(metric)
        share = (wide >= threshold).mean(axis=0)
        return pd.DataFrame(
            {
                "strategy": wide.columns,
                "metric": metric,
                "threshold": threshold,
                "probability": share.to_numpy(),
            }
        )

    def variance_shares(
        self, metric: str, strategy: str, bins: int = 10, top: int | None = None
    ) -> pd.DataFrame:
        """Share of the across-draw variance of `metric` explained by each drawn parameter
        alone (first-order, binned given-data estimate with its small-sample bias removed),
        with the noise floor such an estimate shows for a parameter with no effect; then the
        share explained by the posterior's parameters jointly and the share that is replicate
        noise (first rows). Parameters are drawn together, so the shares need not sum to 1.

        The floor is family-wise: the share the largest of that many no-effect parameters
        exceeds in 5 % of analyses (one parameter's 95th percentile would let several of 70
        through by chance). Posterior draws repeat the ensemble's particles (D draws from a
        few hundred rows at most), so every posterior parameter is constant within a particle
        and inherits the particle's whole effect by chance: its floor shuffles values between
        particles, not between draws, and is much higher."""
        table = self.values[
            (self.values["metric"] == metric) & (self.values["strategy"] == strategy)
        ].set_index("draw")
        y = table["value"].reindex(self.plan.draws["draw"]).to_numpy(dtype=float)
        ok = np.isfinite(y)
        y = y[ok]
        total = float(np.var(y, ddof=1)) if len(y) > 2 else np.nan
        rng = np.random.default_rng(0)
        particle = self.plan.particles
        if particle is not None:
            particle = particle[ok]
        posterior_keys = [k for k in self.plan.keys if k in self.plan.from_posterior]
        floor = noise_floor(y, len(self.plan.keys) - len(posterior_keys), None, bins, rng)
        floor_posterior = noise_floor(y, len(posterior_keys), particle, bins, rng)
        rows = []
        for key in self.plan.keys:
            x = self.plan.draws[key].to_numpy(dtype=float)[ok]
            posterior = key in self.plan.from_posterior
            rows.append(
                {
                    "parameter": key,
                    "drawn_from": "posterior" if posterior else "prior",
                    "share": first_order(x, y, bins) / total,
                    "noise_floor": floor_posterior if posterior else floor,
                }
            )
        out = pd.DataFrame(rows, columns=["parameter", "drawn_from", "share", "noise_floor"])
        out = out.sort_values("share", ascending=False, ignore_index=True)
        summary = []
        if particle is not None:
            summary.append(
                {
                    "parameter": "(posterior, jointly)",
                    "drawn_from": "posterior",
                    "share": between_groups(particle, y) / total,
                    "noise_floor": np.nan,
                }
            )
        noise = table["replicate_sd"].to_numpy(dtype=float)
        if np.isfinite(noise).any():
            within = float(np.nanmean(noise**2)) / self.replicates
            summary.append(
                {
                    "parameter": "(replicate noise)",
                    "drawn_from": "",
                    "share": within / total,
                    "noise_floor": np.nan,
                }
            )
        out = pd.concat([pd.DataFrame(summary, columns=out.columns), out], ignore_index=True)
        out["above_floor"] = out["share"] > out["noise_floor"]
        out.insert(0, "strategy", strategy)
        out.insert(1, "metric", metric)
        return out.head(top) if top else out

    def cost_matrix(self) -> pd.DataFrame:
        """Draws x strategies: cost per 100 people (needs costs in the scenarios)."""
        if self.costs is None:
            raise ValueError("no costs: give unit costs in the scenarios' [costs] section")
        wide = self.costs.pivot(index="draw", columns="strategy", values="cost_per_100")
        return wide.reindex(columns=self.strategies)

    def cost_summary(self, metric: str = "averted_per_100_365d") -> pd.DataFrame:
        """Per strategy: cost per 100 people and incremental cost against the reference
        (mean and 95 % UI), and cost per relapse averted (ratio of the means over draws)."""
        cost = self.cost_matrix()
        extra = cost.sub(cost[self.reference], axis=0)
        effect = self.matrix(metric)
        rows = []
        for s in self.strategies:
            c, e = cost[s].to_numpy(), extra[s].to_numpy()
            averted = float(np.nanmean(effect[s].to_numpy()))
            rows.append(
                {
                    "strategy": s,
                    "currency": self.currency,
                    "cost_per_100": float(np.mean(c)),
                    "cost_ui_low": uncertainty_interval(c)[0],
                    "cost_ui_high": uncertainty_interval(c)[1],
                    "incremental_cost_per_100": float(np.mean(e)),
                    "incremental_ui_low": uncertainty_interval(e)[0],
                    "incremental_ui_high": uncertainty_interval(e)[1],
                    "relapses_averted_per_100": averted,
                    "cost_per_relapse_averted": float(np.mean(e)) / averted
                    if s != self.reference and averted > 0
                    else np.nan,
                    "illustrative": self.illustrative_costs,
                }
            )
        return pd.DataFrame(rows)

    def ceac(self, wtp: np.ndarray | None = None) -> pd.DataFrame:
        """Cost-effectiveness acceptability curve: for each willingness to pay per relapse
        averted, the share of draws in which each strategy has the highest net benefit
        (wtp x relapses averted - incremental cost, per 100 people)."""
        effect = self.matrix("averted_per_100_365d").fillna(0.0)
        cost = self.cost_matrix()
        cost = cost.sub(cost[self.reference], axis=0)
        if wtp is None:
            ratio = self.cost_summary()["cost_per_relapse_averted"].dropna()
            top = float(ratio.max() * 3) if len(ratio) and ratio.max() > 0 else 1.0
            wtp = np.linspace(0.0, top, 61)
        rows = []
        for w in wtp:
            net = (w * effect - cost).to_numpy()
            best = net == net.max(axis=1, keepdims=True)
            share = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
            rows += [
                {"willingness_to_pay": float(w), "strategy": s, "probability_best": float(p)}
                for s, p in zip(effect.columns, share, strict=True)
            ]
        return pd.DataFrame(rows)

    def fan(self, strategy: str) -> pd.DataFrame:
        """Relapse-free survival by day across draws: median and the 50 % and 95 % bands."""
        part = self.curves[self.curves["strategy"] == strategy]
        grouped = part.groupby("day")["survival"]
        bands = {
            name: grouped.quantile(q)
            for name, q in (("q025", 0.025), ("q25", 0.25), ("median", 0.5), ("q75", 0.75))
        }
        bands["q975"] = grouped.quantile(0.975)
        return pd.DataFrame(bands).reset_index()

    def write(self, out: str | Path) -> list[Path]:
        """Tidy tables (CSV + Parquet)."""
        out = Path(out)
        written = storage.write_table(out / "uncertainty", self.summary())
        written += storage.write_table(out / "uncertainty_draws", self.plan.draws)
        written += storage.write_table(out / "uncertainty_values", self.values)
        written += storage.write_table(out / "uncertainty_survival", self.curves)
        if len(self.strategies) > 1:
            written += storage.write_table(out / "probability_best", self.probability_best())
        if self.costs is not None:
            written += storage.write_table(out / "costs_per_draw", self.costs)
            written += storage.write_table(out / "costs", self.cost_summary())
            written += storage.write_table(out / "ceac", self.ceac())
        return written


def noise_floor(
    y: np.ndarray,
    count: int,
    particle: np.ndarray | None,
    bins: int,
    rng: np.random.Generator,
    repeats: int = 200,
) -> float:
    """95th percentile of the largest first-order share among `count` parameters with no
    effect, drawn per draw or (with `particle`) per posterior particle; NaN for none."""
    if count <= 0:
        return np.nan
    total = float(np.var(y, ddof=1))
    size = int(particle.max()) + 1 if particle is not None else len(y)
    largest = []
    for _ in range(repeats):
        values = rng.random((count, size))
        if particle is not None:
            values = values[:, particle]
        largest.append(max(first_order(v, y, bins) for v in values) / total)
    return float(np.percentile(largest, 95))


def between_groups(groups: np.ndarray, y: np.ndarray) -> float:
    """Var(E[y | group]) for draws that share a group (a posterior particle): the between-group
    mean square less what within-group noise alone would give (one-way ANOVA estimate)."""
    frame = pd.DataFrame({"g": groups, "y": y})
    by = frame.groupby("g")["y"]
    sizes, means = by.size().to_numpy(), by.mean().to_numpy()
    n, k = len(y), len(sizes)
    between = float(np.sum(sizes * (means - y.mean()) ** 2))
    within_ss = float(((frame["y"] - by.transform("mean")) ** 2).sum())
    if n - k < 1 or k < 2:
        return np.nan  # every draw its own particle: no within-particle spread to subtract
    within = within_ss / (n - k)
    effective = n - float(np.sum(sizes**2)) / n  # E[between] = (k-1) within + effective x var
    return max((between - (k - 1) * within) / effective, 0.0)


def first_order(x: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Var(E[y | x]) from equal-count bins of x, minus the variance the bin means would show
    by chance (mean within-bin variance / bin size)."""
    n = len(y)
    if n < 2 * bins or np.ptp(x) == 0:
        return 0.0
    order = np.argsort(x, kind="stable")
    groups = np.array_split(y[order], bins)
    means = np.array([g.mean() for g in groups])
    sizes = np.array([len(g) for g in groups])
    between = float(np.sum(sizes * (means - y.mean()) ** 2) / (n - 1))
    within = float(np.mean([g.var(ddof=1) / len(g) for g in groups if len(g) > 1]))
    return max(between - within, 0.0)


def run_uncertainty(
    scenarios: Sequence[Scenario],
    reference: str | None = None,
    source: str | Path | None = PRIOR,
    draws: int = 200,
    replicates: int = 20,
    seed: int | None = None,
    metric_names: Sequence[str] | None = None,
    workers: int = 1,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
) -> UncertaintyResult:
    """Run every strategy at D shared parameter draws with R replicates each.

    With `cache_dir`, each finished draw is kept there and reused when the same job is
    started again (a killed job resumes without losing or repeating a draw).
    """
    loaded = list(scenarios)
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        raise ScenarioError(f"scenario names must be unique; got {names}")
    reference = reference or names[0]
    if reference not in names:
        raise ScenarioError(f"--reference {reference!r} is not among: {', '.join(names)}")
    if replicates < 1:
        raise ScenarioError(f"--replicates {replicates}: allowed: 1 or more")
    ref = loaded[names.index(reference)]
    seed = ref.run.seed if seed is None else seed
    plan = plan_draws(loaded, ref, source, draws, seed)
    horizon = ref.run.horizon_days
    aligned = [
        validate(
            {**s.model_dump(), "run": {**s.run.model_dump(), "horizon_days": horizon}},
            source=f"{s.name} (uncertainty options)",
        )
        for s in loaded
    ]
    if metric_names is None:
        metric_names = (
            metrics.comparison_metrics(horizon, with_abstinence=horizon >= 365)
            if len(loaded) > 1
            else [m for m in metrics.RUN_HEADLINE if metrics.get(m).days <= horizon]
        )
    names_list = list(metric_names)
    currency = costs.currency(loaded) if len(loaded) > 1 else None
    if currency is not None:
        names_list += [m for m in costs.COUNTED if m not in names_list]
    cache = Path(cache_dir) if cache_dir else None
    key = _job_key(aligned, plan, replicates, seed, names_list, reference)
    done_values: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}
    if cache is not None:
        done_values = _load_cache(cache, key)

    def payloads(d: int) -> list[str]:
        row = plan.draws.iloc[d]
        values = {k: float(row[k]) for k in plan.keys}
        return [at_draw(s, values).model_dump_json() for s in aligned]

    todo = [d for d in range(draws) if d not in done_values]
    bar = tqdm(
        total=draws,
        initial=draws - len(todo),
        desc="draws",
        unit="draw",
        disable=None if progress else True,
    )
    started = time.perf_counter()

    def finished(batch: list[tuple[pd.DataFrame, pd.DataFrame]]) -> None:
        for result in batch:
            d = int(result[0]["draw"].iloc[0])
            done_values[d] = result
            if cache is not None:
                storage.write_parquet(cache / key / f"draw_{d:06d}_survival.parquet", result[1])
                storage.write_parquet(cache / key / f"draw_{d:06d}_values.parquet", result[0])
        bar.update(len(batch))

    per_task = max(1, ROWS_PER_TASK // (len(aligned) * replicates))
    if workers > 1 or scheduler or dask_local:  # keep every worker busy to the end
        per_task = max(1, min(per_task, len(todo) // (4 * max(workers, dask_local or 2))))
    tasks: list[DrawTask] = [
        (
            [(d, payloads(d)) for d in todo[i : i + per_task]],
            reference,
            replicates,
            seed,
            names_list,
        )
        for i in range(0, len(todo), per_task)
    ]
    executor = Executor(workers, scheduler, dask_local)
    executor.map(tasks, finished, function=run_draws)
    bar.close()
    elapsed = time.perf_counter() - started
    values = pd.concat([done_values[d][0] for d in range(draws)], ignore_index=True)
    curves = pd.concat([done_values[d][1] for d in range(draws)], ignore_index=True)
    return UncertaintyResult(
        plan,
        values,
        curves,
        reference,
        replicates,
        seed,
        timing={"draws_run": len(todo), "seconds": elapsed, "executor": executor.describe()},
        costs=costs.cost_table(aligned, values) if currency is not None else None,
        currency=currency,
        illustrative_costs=any(s.costs.illustrative for s in loaded if s.costs.given),
    )


def _job_key(
    scenarios: list[Scenario],
    plan: DrawPlan,
    replicates: int,
    seed: int,
    names: list[str],
    reference: str,
) -> str:
    import hashlib

    digest = hashlib.sha256()
    for s in scenarios:
        digest.update(s.model_dump_json().encode())
    digest.update(pd.util.hash_pandas_object(plan.draws, index=True).to_numpy().tobytes())
    digest.update(repr((replicates, seed, names, reference)).encode())
    return digest.hexdigest()[:16]


def _load_cache(cache: Path, key: str) -> dict[int, tuple[pd.DataFrame, pd.DataFrame]]:
    """Finished draws of the same job (same scenarios, draws, replicates, seed)."""
    found: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}
    folder = cache / key
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("draw_*_values.parquet")):
        d = int(path.name.split("_")[1])
        survival = folder / f"draw_{d:06d}_survival.parquet"
        if survival.is_file():
            found[d] = (pd.read_parquet(path), pd.read_parquet(survival))
    return found
