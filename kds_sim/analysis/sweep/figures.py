"""Figures of a sweep's analyses: Sobol bars, Morris tornado, response surface, PRIM box.

Each function takes the tidy table the analysis returns and gives a matplotlib Figure; the
caller saves it (kds_sim.io.storage.write_figure) or shows it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _plt() -> Any:
    import matplotlib.pyplot as plt

    return plt


def sobol_figure(table: pd.DataFrame) -> Any:
    """First-order and total indices per factor with their 95 % bootstrap CIs."""
    plt = _plt()
    t = table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(t) + 1.5))
    y = np.arange(len(t))
    for offset, key, colour in ((0.2, "S1", "tab:blue"), (-0.2, "ST", "tab:orange")):
        err = [t[key] - t[f"{key}_low"], t[f"{key}_high"] - t[key]]
        ax.barh(y + offset, t[key], height=0.4, xerr=err, color=colour, label=key, capsize=2)
    ax.set_yticks(y, t["factor"])
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_xlabel("Sobol index (95 % bootstrap CI)")
    ax.set_title(f"Sobol indices: {table['outcome'].iloc[0]}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def morris_figure(table: pd.DataFrame) -> Any:
    """Tornado of mu* (mean absolute elementary effect) with its CI; sigma as dots."""
    plt = _plt()
    t = table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(t) + 1.5))
    y = np.arange(len(t))
    err = [t["mu_star"] - t["mu_star_low"], t["mu_star_high"] - t["mu_star"]]
    ax.barh(y, t["mu_star"], xerr=err, color="tab:blue", capsize=2, label="mu*")
    ax.plot(t["sigma"], y, "o", color="tab:red", label="sigma")
    ax.set_yticks(y, t["factor"])
    ax.set_xlabel("elementary effect over the factor's range")
    ax.set_title(f"Morris screening: {table['outcome'].iloc[0]}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def surface_figure(table: pd.DataFrame, outcome: str, x: str, y: str) -> Any:
    """Heatmap of the mean with each cell's 95 % CI written in it."""
    plt = _plt()
    grid = table.pivot(index=y, columns=x, values="mean")
    fig, ax = plt.subplots(figsize=(1.3 * grid.shape[1] + 2.5, 0.9 * grid.shape[0] + 1.5))
    image = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
    for (i, yv), (j, xv) in (
        (a, b) for a in enumerate(grid.index) for b in enumerate(grid.columns)
    ):
        cell = table[(table[y] == yv) & (table[x] == xv)].iloc[0]
        ax.text(
            j,
            i,
            f"{cell['mean']:.3g}\n[{cell['low']:.3g}, {cell['high']:.3g}]",
            ha="center",
            va="center",
            fontsize=7,
            color="white",
        )
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    fig.colorbar(image, ax=ax, label=outcome)
    ax.set_title(f"{outcome} (mean [95 % CI] over replicates)")
    fig.tight_layout()
    return fig


def prim_figure(boxes: pd.DataFrame, points: pd.DataFrame) -> Any:
    """The PRIM box: each restricted factor's range as a share of its sampled range."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 0.4 * max(len(boxes), 1) + 1.6))
    for i, row in enumerate(boxes.itertuples()):
        lo, hi = points[row.factor].min(), points[row.factor].max()
        span = (hi - lo) or 1.0
        a, b = (row.low - lo) / span, (row.high - lo) / span
        ax.barh(i, b - a, left=a, color="tab:green")
        ax.text(1.02, i, f"{row.low:.3g} to {row.high:.3g}", va="center", fontsize=8)
    ax.set_yticks(range(len(boxes)), list(boxes["factor"]))
    ax.set_xlim(0, 1.35)
    ax.set_xlabel("share of the sampled range")
    if len(boxes):
        first = boxes.iloc[0]
        ax.set_title(
            f"PRIM: {first['outcome']} {first['rule']} (coverage {first['coverage']:.2f}, "
            f"density {first['density']:.2f})"
        )
    fig.tight_layout()
    return fig
