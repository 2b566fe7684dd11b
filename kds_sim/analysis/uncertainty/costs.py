"""Costs across draws: cost per 100 people, incremental costs, cost per relapse averted and
the cost-effectiveness acceptability curve (the methods of UncertaintyResult that read costs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kds_sim.analysis import costs as cost_model
from kds_sim.analysis.uncertainty.planning import uncertainty_interval
from kds_sim.model.scenario import Scenario


class CostAnalysis:
    """Mixed into UncertaintyResult: needs `costs`, `strategies`, `reference`, `matrix`."""

    if TYPE_CHECKING:
        costs: pd.DataFrame | None
        currency: str | None
        illustrative_costs: bool
        reference: str
        values: pd.DataFrame
        all_values: pd.DataFrame | None
        seed: int

        @property
        def strategies(self) -> list[str]: ...

        def matrix(self, metric: str) -> pd.DataFrame: ...

    unit_costs: cost_model.UnitCosts | None = None

    def price(self, scenarios: list[Scenario], unit_costs: cost_model.UnitCosts) -> None:
        """Cost every kept draw with unit costs drawn from their priors (a costs file), the
        same unit costs for every strategy within a draw."""
        every = self.all_values if self.all_values is not None else self.values
        table = cost_model.cost_table(scenarios, every, unit_costs, self.seed)
        self.costs = table[table["draw"].isin(self.values["draw"])].reset_index(drop=True)
        self.currency = unit_costs.label
        self.illustrative_costs = False
        self.unit_costs = unit_costs

    def cost_matrix(self) -> pd.DataFrame:
        """Draws x strategies: cost per 100 people (needs costs in the scenarios)."""
        if self.costs is None:
            raise ValueError("no costs: give unit costs in the scenarios' [costs] section")
        wide = self.costs.pivot(index="draw", columns="strategy", values="cost_per_100")
        return wide.reindex(columns=self.strategies)

    def cost_summary(self, metric: str = "averted_per_100_365d") -> pd.DataFrame:
        """Per strategy: cost per 100 people and incremental cost against the reference
        (mean and 95 % UI), and cost per relapse averted: the ratio of the means over draws,
        with the 95 % UI of the per-draw ratio over the draws that avert any relapse (and the
        share of draws that avert none, where a ratio means nothing)."""
        cost = self.cost_matrix()
        extra = cost.sub(cost[self.reference], axis=0)
        effect = self.matrix(metric)
        rows = []
        for s in self.strategies:
            c, e = cost[s].to_numpy(), extra[s].to_numpy()
            per_draw = effect[s].to_numpy(dtype=float)
            averted = float(np.nanmean(per_draw))
            some = per_draw > 0
            ratio = e[some] / per_draw[some] if s != self.reference else np.array([])
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
                    "cost_per_relapse_averted_ui_low": uncertainty_interval(ratio)[0],
                    "cost_per_relapse_averted_ui_high": uncertainty_interval(ratio)[1],
                    "share_draws_averting_none": float(np.mean(~some))
                    if s != self.reference
                    else np.nan,
                    "illustrative": self.illustrative_costs,
                }
            )
        return pd.DataFrame(rows)

    def ceac(self, wtp: np.ndarray | None = None) -> pd.DataFrame:
        """Cost-effectiveness acceptability curve: for each willingness to pay per relapse
        averted, the share of draws in which each strategy has the highest net benefit
        (wtp x relapses averted - incremental cost, per 100 people). Exact ties in net benefit
        (possible only where costs and effects both tie) are shared."""
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
