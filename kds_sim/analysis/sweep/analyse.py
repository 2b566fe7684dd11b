"""Reading a sweep: per-point outcomes, Sobol and Morris indices (SALib), PRIM boxes, surfaces.

Per-replicate outcomes are averaged over a point's replicates; contrasts (relapses averted and
the like) are computed per point from the stored replicates of the strategy and the reference,
paired on common random numbers, with their 95 % CI over replicates. Sensitivity indices use
the per-point mean.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from kds_sim.analysis import metrics
from kds_sim.analysis.evaluation import RunValues, summarise

StoredRun = RunValues
"""What a Contrast reads of a run, rebuilt from the store's per-replicate rows."""


_CONTRAST = re.compile(r"^(difference|relative_risk|averted_per_100|nnt)_(\d+d|horizon)$")


def contrast_column(name: str) -> str | None:
    """The stored per-replicate column a contrast needs (None: not computable from the store)."""
    match = _CONTRAST.match(name)
    if not match:
        return None
    tag = match.group(2)
    return "relapse_horizon" if tag == "horizon" else f"relapse_{tag}"


def outcome_table(
    results: pd.DataFrame, outcomes: list[str], reference: str | None
) -> pd.DataFrame:
    """One row per (point, strategy, outcome): mean, 95 % CI low and high over replicates
    (contrasts for the strategies other than the reference)."""
    table = summarise(results, outcomes, reference)
    is_contrast = table["metric"].map(metrics.is_contrast).astype(bool)
    table = table[~(is_contrast & (table["strategy"] == reference))]
    table = table.rename(columns={"metric": "outcome"}).drop(columns="replicate_sd")
    return table.reset_index(drop=True)


def outcome_vector(table: pd.DataFrame, outcome: str, strategy: str) -> np.ndarray:
    rows = table[(table["outcome"] == outcome) & (table["strategy"] == strategy)]
    if rows.empty:
        raise KeyError(f"no outcome {outcome!r} for strategy {strategy!r} in this sweep")
    return rows.sort_values("point")["mean"].to_numpy(dtype=float)


def sobol(
    problem: dict[str, Any], y: np.ndarray, second_order: bool = False, seed: int = 1
) -> pd.DataFrame:
    """First-order and total Sobol indices with 95 % bootstrap CIs (Saltelli design)."""
    from SALib.analyze import sobol as sa

    res = sa.analyze(
        problem,
        y,
        calc_second_order=second_order,
        conf_level=0.95,
        seed=seed,
        print_to_console=False,
    )
    return pd.DataFrame(
        {
            "factor": problem["names"],
            "S1": res["S1"],
            "S1_low": res["S1"] - res["S1_conf"],
            "S1_high": res["S1"] + res["S1_conf"],
            "ST": res["ST"],
            "ST_low": res["ST"] - res["ST_conf"],
            "ST_high": res["ST"] + res["ST_conf"],
        }
    ).sort_values("ST", ascending=False, ignore_index=True)


def morris(
    problem: dict[str, Any], x: np.ndarray, y: np.ndarray, levels: int, seed: int = 1
) -> pd.DataFrame:
    """Morris elementary effects: mu* (with 95 % bootstrap CI) and sigma per factor."""
    from SALib.analyze import morris as ma

    res = ma.analyze(problem, x, y, num_levels=levels, conf_level=0.95, seed=seed)
    return pd.DataFrame(
        {
            "factor": problem["names"],
            "mu_star": res["mu_star"],
            "mu_star_low": res["mu_star"] - res["mu_star_conf"],
            "mu_star_high": res["mu_star"] + res["mu_star_conf"],
            "mu": res["mu"],
            "sigma": res["sigma"],
        }
    ).sort_values("mu_star", ascending=False, ignore_index=True)


def prim_boxes(
    x: pd.DataFrame, y: np.ndarray, threshold: float, below: bool = True, mass_min: float = 0.05
) -> pd.DataFrame:
    """PRIM (EMA Workbench's, BSD-3): a box of factor ranges where the outcome passes `threshold`.

    One row per restricted factor of the chosen box, with its coverage and density. PRIM's
    peeling trajectory trades coverage for density; the box taken from it is the one with the
    highest coverage at density 0.8 or more (else the densest). PRIM trims a little off every
    factor, so the box keeps only the restrictions needed to reach that density, adding first
    the one that gains most: a box with few factors reads as a rule.
    """
    from ema_workbench.analysis import prim

    columns = ["box", "factor", "low", "high", "coverage", "density", "mass"]
    flagged = np.asarray((y < threshold) if below else (y > threshold), dtype=int)
    if not flagged.any():
        return pd.DataFrame(columns=columns)
    x = x.reset_index(drop=True)
    box = prim.Prim(x, flagged, mass_min=mass_min).find_box()
    trajectory = box.peeling_trajectory.reset_index(drop=True)
    dense = trajectory[trajectory["density"] >= 0.8]
    chosen = int(dense["coverage"].idxmax() if len(dense) else trajectory["density"].idxmax())
    limits, initial = box.box_lims[chosen], box.box_lims[0]
    restricted = [f for f in x.columns if not limits[f].equals(initial[f])]

    def quality(factors: list[str]) -> tuple[float, float, float]:
        inside = np.ones(len(x), dtype=bool)
        for f in factors:
            inside &= x[f].between(limits[f].iloc[0], limits[f].iloc[1]).to_numpy()
        hits = int(flagged[inside].sum())
        return hits / flagged.sum(), hits / max(int(inside.sum()), 1), float(inside.mean())

    target = min(0.8, quality(restricted)[1])
    kept: list[str] = []
    while quality(kept)[1] < target:  # add the restriction that gains most density first
        kept.append(max((quality([*kept, f])[1], f) for f in restricted if f not in kept)[1])
    coverage, density, mass = quality(kept)
    return pd.DataFrame(
        [
            {
                "box": 1,
                "factor": f,
                "low": float(limits[f].iloc[0]),
                "high": float(limits[f].iloc[1]),
                "coverage": coverage,
                "density": density,
                "mass": mass,
            }
            for f in kept
        ],
        columns=columns,
    )


def surface(
    table: pd.DataFrame,
    points: pd.DataFrame,
    outcome: str,
    strategy: str,
    x: str,
    y: str,
) -> pd.DataFrame:
    """A response surface: mean and CI of `outcome` by two factors (others averaged)."""
    rows = table[(table["outcome"] == outcome) & (table["strategy"] == strategy)]
    merged = rows.merge(points, on="point")
    return merged.groupby([y, x], as_index=False)[["mean", "low", "high"]].mean()
