"""What an uncertainty analysis says across draws: intervals, probabilities, variance shares.

Per draw, a metric is the mean over its R replicates. Across draws:

- the 95 % uncertainty interval (UI): the 2.5th to 97.5th percentile of the per-draw values,
  parameter and stochastic uncertainty together: the interval a policy figure needs;
- the Monte Carlo CI of the mean: how precisely D draws estimate the mean. It shrinks as D
  grows and says nothing about what is unknown; it is never the headline range;
- paired differences between every two strategies (same draw, same random numbers), with
  their UI and the probability that one averts at least a minimal important difference (MID)
  more than the other. No "probability best": where strategies tie (a nested strategy on
  common random numbers ties often) a share of draws "won" overstates tiny gains.

Draws are conditioned on what the calibration checks (rejection): a draw in which any
strategy's members gain more continuous abstinence than the Cochrane bound allows (members'
risk ratio above 1.42, Kelly et al. 2020) is dropped from every summary; `conditioning` says
how many draws were kept (the effective sample size: rejection weights are 0 or 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kds_sim.analysis import metrics, statistics
from kds_sim.analysis.uncertainty.costs import CostAnalysis
from kds_sim.analysis.uncertainty.planning import DrawPlan, uncertainty_interval
from kds_sim.io import display, storage
from kds_sim.model.priors import current_effect_prior

BOUND_METRIC = "abstinence_rr_365d_members"
BOUND_HIGH = 1.42
"""Upper end of the Cochrane 95 % CI of continuous abstinence at 12 months (Kelly, Humphreys &
Ferri 2020, RR 1.21, 1.03 to 1.42): no group may add more than this for its members. The lower
end is not applied: it bounds twelve-step facilitation, and a weak group (as assessed) may
plausibly add less."""
DEFAULT_MID = 1.0
"""Minimal important difference: one relapse averted per 100 people (`--mid`)."""
TIED = 1e-9
"""Two strategies whose per-draw values differ by less than this are tied in that draw."""


@dataclass
class UncertaintyResult(CostAnalysis):
    """Per-draw values of every strategy and metric, and what they say across draws."""

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
    bound: float | None = BOUND_HIGH
    """Keep only draws whose members' risk ratio is at most this, in every strategy (None:
    keep every draw)."""
    conditioning: dict[str, Any] = field(default_factory=dict)
    cohort: float | None = None
    """People in each strategy's cohort (for figures per 100 members)."""
    nested: set[tuple[str, str]] = field(default_factory=set)
    """(outer, inner) strategy pairs, one nested in the other (comparison.nested_pairs)."""
    effect_prior: str = field(default_factory=current_effect_prior)
    """The intervention-effect prior the draws took (model.priors.EFFECT_PRIORS)."""
    all_values: pd.DataFrame | None = None
    """Every draw's values, the rejected included (`values` holds the kept draws)."""

    def __post_init__(self) -> None:
        self.all_values = self.values
        rows = self.values[self.values["metric"] == BOUND_METRIC]
        total = int(self.values["draw"].nunique())
        if self.bound is None or rows.empty:
            self.conditioning = {"rule": "none", "draws": total, "kept": total, "ess": total}
            return
        strongest = rows.groupby("draw")["value"].max()
        rejected = set(strongest.index[strongest > self.bound])
        keep = ~self.values["draw"].isin(rejected)
        if keep.sum() == 0:
            raise ValueError(
                f"every one of {total} draws gives a members' risk ratio above {self.bound}: "
                "nothing is left to summarise; allowed: priors that give a plausible group effect"
            )
        self.values = self.values[keep].reset_index(drop=True)
        self.curves = self.curves[~self.curves["draw"].isin(rejected)].reset_index(drop=True)
        if self.costs is not None:
            self.costs = self.costs[~self.costs["draw"].isin(rejected)].reset_index(drop=True)
        kept = total - len(rejected)
        self.conditioning = {
            "rule": f"members' risk ratio of continuous abstinence at 12 months <= {self.bound} "
            "in every strategy (rejection)",
            "draws": total,
            "kept": kept,
            "ess": kept,
        }

    __repr__ = display.uncertainty_repr  # one line, not the whole scenario
    _repr_html_ = display.uncertainty_html  # Jupyter: the headline table

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

    def pairwise(
        self,
        metric: str = "averted_per_100_365d",
        mid: float = DEFAULT_MID,
        nested: set[tuple[str, str]] | None = None,
    ) -> pd.DataFrame:
        """Every pair of strategies, the one with the larger mean first: the paired difference
        per draw (mean, 95 % UI), P(difference >= mid), P(difference <= -mid), the share of
        draws in which they tie, and whether one strategy is nested in the other (`nested`:
        (outer, inner) pairs, see comparison.nested_pairs)."""
        wide = self.matrix(metric)
        if metric.startswith("averted_per_100"):
            wide = wide.fillna({self.reference: 0.0})
        names = list(wide.columns)
        means = wide.mean()
        rows = []
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                first, second = (a, b) if means[a] >= means[b] else (b, a)
                d = (wide[first] - wide[second]).to_numpy(dtype=float)
                d = d[np.isfinite(d)]
                low, high = uncertainty_interval(d)
                pair = {(first, second), (second, first)} & (
                    self.nested if nested is None else nested
                )
                rows.append(
                    {
                        "strategy": first,
                        "versus": second,
                        "metric": metric,
                        "mean_difference": float(np.mean(d)) if len(d) else np.nan,
                        "ui_low": low,
                        "ui_high": high,
                        "mid": mid,
                        "probability_at_least_mid": float(np.mean(d >= mid)) if len(d) else np.nan,
                        "probability_below_minus_mid": float(np.mean(d <= -mid))
                        if len(d)
                        else np.nan,
                        "share_tied": float(np.mean(np.abs(d) < TIED)) if len(d) else np.nan,
                        "nested": "; ".join(f"{o} contains {n}" for o, n in sorted(pair)),
                        "draws": len(d),
                    }
                )
        return pd.DataFrame(rows)

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

    def per_members(self, metric: str = "averted_per_100_365d") -> pd.DataFrame:
        """Per strategy: `metric` per 100 members rather than per 100 discharged (the per-draw
        value x cohort / members ever), mean and 95 % UI; empty without `members_ever`."""
        if "members_ever" not in set(self.values["metric"]) or self.cohort is None:
            return pd.DataFrame(columns=["strategy", "metric", "mean", "ui_low", "ui_high"])
        effect, members = self.matrix(metric), self.matrix("members_ever")
        rows = []
        for s in self.strategies:
            if s == self.reference:
                continue
            m = members[s].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                x = effect[s].to_numpy(dtype=float) * self.cohort / np.where(m > 0, m, np.nan)
            x = x[np.isfinite(x)]
            low, high = uncertainty_interval(x)
            mean = float(np.mean(x)) if len(x) else np.nan
            rows.append(
                {
                    "strategy": s,
                    "metric": f"{metric}_members",
                    "mean": mean,
                    "ui_low": low,
                    "ui_high": high,
                }
            )
        return pd.DataFrame(rows)

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
        if not total > 0:  # nothing varies across draws: no share to give (NaN, not an error)
            total = np.nan
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

    def _longer_than_a_year(self) -> bool:
        """Whether the runs follow people beyond 12 months (the survival curves say how long)."""
        return "day" in self.curves and len(self.curves) > 0 and self.curves["day"].max() > 365

    def write(self, out: str | Path) -> list[Path]:
        """Tidy tables (CSV + Parquet)."""
        out = Path(out)
        written = storage.write_table(out / "uncertainty", self.summary())
        draws = self.plan.draws.assign(kept=self.plan.draws["draw"].isin(self.values["draw"]))
        written += storage.write_table(out / "uncertainty_draws", draws)
        every = self.all_values if self.all_values is not None else self.values
        written += storage.write_table(out / "uncertainty_values", every)
        written += storage.write_table(out / "uncertainty_survival", self.curves)
        if len(self.strategies) > 1:
            pairs = [self.pairwise()]
            if self._longer_than_a_year():  # a long run's pairs at its horizon too
                pairs.append(self.pairwise("averted_per_100_horizon"))
            written += storage.write_table(out / "pairwise", pd.concat(pairs, ignore_index=True))
            written += storage.write_table(out / "per_members", self.per_members())
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
    total = float(np.var(y, ddof=1)) if len(y) > 1 else 0.0
    if count <= 0 or not total > 0:  # nothing varies: no share to compare with
        return np.nan
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
