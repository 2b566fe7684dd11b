"""Costs across draws: cost per 100 people, incremental costs, cost per relapse averted and
the cost-effectiveness acceptability curve (the methods of UncertaintyResult that read costs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kds_sim.analysis.uncertainty.planning import uncertainty_interval


class CostAnalysis:
    """Mixed into UncertaintyResult: needs `costs`, `strategies`, `reference`, `matrix`."""

    if TYPE_CHECKING:
        costs: pd.DataFrame | None
        currency: str | None
        illustrative_costs: bool
        reference: str

        @property
        def strategies(self) -> list[str]: ...

        def matrix(self, metric: str) -> pd.DataFrame: ...

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
