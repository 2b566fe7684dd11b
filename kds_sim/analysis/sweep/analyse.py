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
    """PRIM (the `prim` package): boxes of factor ranges where the outcome passes `threshold`.

    One row per restricted factor of the chosen box (the last box on the peeling trajectory
    whose density is at least 0.8, else the densest), with its coverage and density.
    """
    import prim

    columns = ["box", "factor", "low", "high", "coverage", "density", "mass"]
    flagged = (y < threshold) if below else (y > threshold)
    if not flagged.any():
        return pd.DataFrame(columns=columns)
    finder = prim.Prim(
        x.reset_index(drop=True),
        flagged.astype(float),
        threshold=0.5,
        threshold_type=">",
        mass_min=mass_min,
    )
    box = finder.find_box()
    trajectory = box.peeling_trajectory.reset_index(drop=True)
    good = trajectory.index[trajectory["density"] >= 0.8]
    chosen = int(good[-1]) if len(good) else int(trajectory["density"].idxmax())
    box.select(chosen)
    rows = []
    for factor, lim in box.limits.iterrows():
        rows.append(
            {
                "box": 1,
                "factor": factor,
                "low": float(lim["min"]),
                "high": float(lim["max"]),
                "coverage": float(box.coverage),
                "density": float(box.density),
                "mass": float(box.mass),
            }
        )
    return pd.DataFrame(rows, columns=columns)


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
