"""Figures. Each function draws on a matplotlib Axes and returns it, so users can compose them.

The backend is left to matplotlib (inline in notebooks); the command line picks a
non-interactive one before it draws.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd

from kds_sim.model.parameters import DOMAINS

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#C9B000")
"""Okabe & Ito's colour-blind-safe palette; its yellow, last, darkened to read on white."""
REFERENCE_GREY = "#7F7F7F"
GOOD_LINE = 2.75
"""PEKA score between 'needs development' and 'good'."""


@contextmanager
def plain_text() -> Iterator[None]:
    """Text drawn as typed: a `$` in a label, a currency or a file name is a dollar sign, never
    the start of matplotlib's mathtext (two of them made a figure fail to draw). Our own
    figures use no mathtext. Use as a `with` block or a decorator around drawing and saving."""
    with matplotlib.rc_context({"text.parse_math": False}):
        yield


def new_axes(width: float = 7.0, height: float = 4.2):
    figure, ax = plt.subplots(figsize=(width, height))
    return figure, ax


def survival(curves: pd.DataFrame, ax=None, title: str = "Relapse-free survival"):
    """Kaplan-Meier relapse-free survival with 95 % CI bands, one line per scenario."""
    if ax is None:
        _, ax = new_axes()
    ax.set_prop_cycle(color=PALETTE)
    for name, curve in curves.groupby("scenario", sort=False):
        (line,) = ax.step(curve["day"], curve["survival"], where="post", label=str(name))
        ax.fill_between(
            curve["day"],
            curve["ci_low"],
            curve["ci_high"],
            step="post",
            alpha=0.2,
            color=line.get_color(),
            linewidth=0,
        )
    ax.set_xlabel("days since discharge from rehab")
    ax.set_ylabel("share never relapsed (95 % CI)")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return ax


STATE_COLOURS = {
    "abstinent": "#4c9a6a",
    "lapsed": "#f2b134",
    "relapsed": "#c8553d",
    "in_treatment": "#CC99CC",
    "incarcerated": "#553377",
}
"""The prevalence figure's colours; model 0.3's two stays (in treatment, incarcerated) take
the classroom app's light lilac and dark purple (kds_sim/app/colours.py), and are hatched
too, so they are told apart without colour."""
STATE_HATCHES = {"in_treatment": "..", "incarcerated": "//"}


def prevalence(table: pd.DataFrame, ax=None, title: str = "State of the cohort by day"):
    """Stacked shares of abstinent, lapsed and relapsed people (mean over replicates), and
    of people in treatment and incarcerated when the table has them (model 0.3)."""
    if ax is None:
        _, ax = new_axes()
    states = [s for s in STATE_COLOURS if s in table.columns]
    layers = ax.stackplot(
        table["day"],
        *(table[s] for s in states),
        labels=[s.replace("_", " ") for s in states],
        colors=[STATE_COLOURS[s] for s in states],
        alpha=0.85,
    )
    for layer, state in zip(layers, states, strict=True):
        if state in STATE_HATCHES:
            layer.set_hatch(STATE_HATCHES[state])
            layer.set_edgecolor("#ffffff")
    ax.set_xlabel("days since discharge from rehab")
    ax.set_ylabel("share of cohort")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    return ax


def capacity(daily: pd.DataFrame, ax=None, title: str = "Group capacity (PEKA) by domain"):
    """Mean PEKA score by domain over time (mean over replicates)."""
    if ax is None:
        _, ax = new_axes()
    by_day = daily.groupby("day")[[f"capacity_{d}" for d in DOMAINS]].mean()
    for domain, colour in zip(DOMAINS, PALETTE, strict=False):
        ax.plot(
            by_day.index, by_day[f"capacity_{domain}"], color=colour, label=domain.replace("_", " ")
        )
    ax.axhline(GOOD_LINE, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("days since discharge from rehab")
    ax.set_ylabel("PEKA score (1-4); dashed: 2.75 'good' line")
    ax.set_ylim(1, 4)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    return ax


def forest(table: pd.DataFrame, ax=None, title: str = "Relapses averted per 100 people"):
    """Point estimates with 95 % CIs, one row per scenario (reference excluded)."""
    if ax is None:
        _, ax = new_axes(7.0, 0.5 + 0.45 * max(1, len(table)))
    y = range(len(table))
    ax.errorbar(
        table["mean"],
        list(y),
        xerr=[table["mean"] - table["ci_low"], table["ci_high"] - table["mean"]],
        fmt="o",
        color=PALETTE[0],
        capsize=3,
    )
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(list(y), table["scenario"])
    ax.invert_yaxis()
    ax.set_xlabel(table.attrs.get("xlabel", "relapses averted per 100 people (95 % CI)"))
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return ax
