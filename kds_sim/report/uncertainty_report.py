"""Figures and the report section of an uncertainty analysis (`--uncertainty`).

Every figure shows the 95 % uncertainty interval (parameter and stochastic uncertainty); the
Monte Carlo CI, where shown, is drawn thin and labelled as the precision of the mean.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kds_sim.analysis.uncertainty import UncertaintyResult
from kds_sim.io import storage

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000")
"""A colour-blind-safe palette (Okabe & Ito 2008)."""

UI_TEXT = (
    "95 % uncertainty interval (UI): the middle 95 % of the results over {draws} parameter "
    "draws ({source}), each the mean of {replicates} replicates; it shows what is not known "
    "about the parameters, and the chance in one cohort."
)
MC_TEXT = (
    "Monte Carlo CI: the precision with which the {draws} draws estimate the mean; it shrinks "
    "with more draws and is not an uncertainty interval."
)


def _label(labels: dict[str, str] | None, name: str) -> str:
    return (labels or {}).get(name) or name


def fan_chart(result: UncertaintyResult, labels: dict[str, str] | None = None) -> Any:
    """Relapse-free survival: each strategy's median and 50 %/95 % bands over draws, with the
    reference's median for comparison."""
    import matplotlib.pyplot as plt

    names = result.strategies
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    figure, axes = plt.subplots(
        rows, cols, figsize=(4.4 * cols, 3.3 * rows), squeeze=False, sharex=True, sharey=True
    )
    ref = result.fan(result.reference)
    for k, (ax, name) in enumerate(zip(axes.flat, names, strict=False)):
        fan = result.fan(name)
        colour = OKABE_ITO[k % len(OKABE_ITO)]
        ax.fill_between(fan["day"], fan["q025"], fan["q975"], color=colour, alpha=0.2, lw=0)
        ax.fill_between(fan["day"], fan["q25"], fan["q75"], color=colour, alpha=0.35, lw=0)
        ax.plot(fan["day"], fan["median"], color=colour, lw=2, label="median")
        if name != result.reference:
            ax.plot(ref["day"], ref["median"], color="#555", lw=1.2, ls="--", label="reference")
        ax.set_title(_label(labels, name), fontsize=10)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("relapse-free share")
    for ax in axes[-1, :]:
        ax.set_xlabel("days since discharge")
    axes.flat[0].legend(fontsize=8, loc="lower left")
    figure.suptitle("Relapse-free survival: median, 50 % and 95 % uncertainty bands", fontsize=11)
    figure.tight_layout()
    return figure


def forest(
    result: UncertaintyResult,
    metric: str = "averted_per_100_365d",
    labels: dict[str, str] | None = None,
) -> Any:
    """Ranked: each strategy's mean, 95 % UI (thick) and Monte Carlo CI of the mean (thin)."""
    import matplotlib.pyplot as plt

    table = result.summary()
    table = table[(table["metric"] == metric) & (table["strategy"] != result.reference)]
    table = table.sort_values("mean", ignore_index=True)
    figure, ax = plt.subplots(figsize=(7.5, 0.7 * len(table) + 1.4))
    y = np.arange(len(table))
    ax.hlines(y, table["ui_low"], table["ui_high"], color=OKABE_ITO[0], lw=6, alpha=0.45)
    ax.hlines(y, table["mc_ci_low"], table["mc_ci_high"], color="#000", lw=1.5)
    ax.plot(table["mean"], y, "o", color="#000", ms=5)
    ax.axvline(0, color="#555", lw=1)
    ax.set_yticks(y, [_label(labels, s) for s in table["strategy"]])
    ax.set_xlabel(f"relapses averted per 100 people at 12 months vs {result.reference}")
    ax.set_title("Mean, 95 % uncertainty interval (wide bar), Monte Carlo CI (thin line)")
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure


def probability_best_chart(result: UncertaintyResult, labels: dict[str, str] | None = None) -> Any:
    """Share of draws in which each strategy averts the most relapses."""
    import matplotlib.pyplot as plt

    table = result.probability_best().sort_values("probability_best", ignore_index=True)
    figure, ax = plt.subplots(figsize=(7.5, 0.55 * len(table) + 1.3))
    ax.barh(
        [_label(labels, s) for s in table["strategy"]],
        table["probability_best"],
        color=OKABE_ITO[2],
    )
    for k, p in enumerate(table["probability_best"]):
        ax.text(p + 0.01, k, f"{p:.0%}", va="center", fontsize=9)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("probability of averting the most relapses at 12 months (share of draws)")
    ax.set_title("How sure are we? Probability that each strategy is best")
    figure.tight_layout()
    return figure


def variance_chart(shares: pd.DataFrame) -> Any:
    """What drives the width: share of the across-draw variance per parameter."""
    import matplotlib.pyplot as plt

    table = shares.iloc[::-1]
    figure, ax = plt.subplots(figsize=(7.5, 0.4 * len(table) + 1.3))
    ax.barh(table["parameter"], table["share"].clip(lower=0), color=OKABE_ITO[3])
    floor = shares["noise_floor"].dropna()
    if len(floor):
        ax.axvline(floor.iloc[0], color="#555", ls="--", lw=1, label="noise floor at this D")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("share of the variance across draws (first-order)")
    strategy, metric = shares["strategy"].iloc[0], shares["metric"].iloc[0]
    ax.set_title(f"What drives the uncertainty: {metric}, {strategy}")
    figure.tight_layout()
    return figure


def ceac_chart(result: UncertaintyResult, labels: dict[str, str] | None = None) -> Any:
    import matplotlib.pyplot as plt

    table = result.ceac()
    figure, ax = plt.subplots(figsize=(7.5, 4))
    for k, (name, part) in enumerate(table.groupby("strategy", sort=False)):
        ax.plot(
            part["willingness_to_pay"],
            part["probability_best"],
            lw=2,
            color=OKABE_ITO[k % len(OKABE_ITO)],
            label=_label(labels, str(name)),
        )
    note = " (illustrative costs, no source)" if result.illustrative_costs else ""
    ax.set_xlabel(f"willingness to pay per relapse averted, {result.currency}{note}")
    ax.set_ylabel("probability most cost-effective")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Cost-effectiveness acceptability curve")
    ax.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def main_strategy(result: UncertaintyResult) -> str:
    """The strategy that averts the most on average (its variance is decomposed)."""
    table = result.summary()
    rows = table[
        (table["metric"] == "averted_per_100_365d") & (table["strategy"] != result.reference)
    ]
    if rows.empty:
        return result.reference
    return str(rows.sort_values("mean")["strategy"].iloc[-1])


def headline(
    result: UncertaintyResult, at_least: float, metric: str = "averted_per_100_365d"
) -> pd.DataFrame:
    """Per strategy: mean, 95 % UI, Monte Carlo CI, probability best and of averting at least
    `at_least` per 100 (the policy table under uncertainty)."""
    table = result.summary()
    table = table[table["metric"] == metric].set_index("strategy")
    best = result.probability_best(metric).set_index("strategy")["probability_best"]
    reach = result.probability_at_least(at_least, metric).set_index("strategy")["probability"]
    out = table[["mean", "ui_low", "ui_high", "mc_ci_low", "mc_ci_high"]].copy()
    out["probability_best"] = best
    out[f"probability_at_least_{at_least:g}"] = reach
    out = out.drop(index=result.reference, errors="ignore")
    return out.sort_values("mean", ascending=False).reset_index()


def write_uncertainty(
    result: UncertaintyResult,
    out: str | Path,
    at_least: float = 3.0,
    labels: dict[str, str] | None = None,
) -> tuple[list[Path], str]:
    """Tables and figures into `out`; returns the files and the report's HTML section."""
    from kds_sim.report.comparison_report import embed_image

    out = Path(out)
    written = result.write(out)
    figures: dict[str, Any] = {"uncertainty_survival": fan_chart(result, labels)}
    many = len(result.strategies) > 1
    shares = None
    if many:
        table = headline(result, at_least)
        written += storage.write_table(out / "uncertainty_headline", table)
        figures["uncertainty_forest"] = forest(result, labels=labels)
        figures["probability_best"] = probability_best_chart(result, labels)
        main = main_strategy(result)
        shares = result.variance_shares("averted_per_100_365d", main, top=10)
        written += storage.write_table(out / "uncertainty_variance", shares)
        figures["uncertainty_variance"] = variance_chart(shares)
        if result.costs is not None:
            figures["ceac"] = ceac_chart(result, labels)
    paths = {name: storage.write_figure(out / f"{name}.png", fig) for name, fig in figures.items()}
    written += list(paths.values())
    text = {"draws": result.draws, "replicates": result.replicates, "source": result.plan.source}
    parts = [
        "<h2>Uncertainty</h2>",
        f"<p>{html.escape(UI_TEXT.format(**text))}</p>",
        f"<p class='note'>{html.escape(MC_TEXT.format(**text))} Parameters drawn: "
        f"{len(result.plan.keys)}; kept per strategy (levers): "
        f"{html.escape(', '.join(result.plan.levers) or 'none')}.</p>",
    ]
    if many:
        parts.append(html_table(headline(result, at_least), labels, at_least))
    for name in ("uncertainty_forest", "probability_best", "uncertainty_survival"):
        if name in paths:
            parts.append(embed_image(paths[name]))
    if shares is not None:
        parts.append(
            "<p>What drives the width (share of the variance across draws of relapses averted "
            f"by {html.escape(_label(labels, main_strategy(result)))}, first-order; "
            "'(replicate noise)' is the part due to chance in a finite cohort):</p>"
        )
        parts.append(embed_image(paths["uncertainty_variance"]))
    if result.costs is not None:
        parts.append(cost_html(result, labels))
        parts.append(embed_image(paths["ceac"]))
    return written, "\n".join(parts)


def html_table(table: pd.DataFrame, labels: dict[str, str] | None, at_least: float) -> str:
    head = (
        "<tr><th>strategy</th><th>relapses averted per 100 (mean)</th><th>95 % UI</th>"
        "<th>Monte Carlo CI of the mean</th><th>probability best</th>"
        f"<th>probability of at least {at_least:g}</th></tr>"
    )
    rows = []
    for _, r in table.iterrows():
        rows.append(
            f"<tr><td>{html.escape(_label(labels, str(r['strategy'])))}</td>"
            f"<td>{r['mean']:.1f}</td><td>{r['ui_low']:.1f} to {r['ui_high']:.1f}</td>"
            f"<td>{r['mc_ci_low']:.1f} to {r['mc_ci_high']:.1f}</td>"
            f"<td>{r['probability_best']:.0%}</td>"
            f"<td>{r[f'probability_at_least_{at_least:g}']:.0%}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _money(value: float) -> str:
    return "" if np.isnan(value) else f"{value:,.0f}"


def cost_html(result: UncertaintyResult, labels: dict[str, str] | None) -> str:
    table = result.cost_summary()
    note = (
        "<p class='note'><b>Illustrative costs:</b> placeholders with no source.</p>"
        if result.illustrative_costs
        else ""
    )
    rows = "".join(
        f"<tr><td>{html.escape(_label(labels, str(r['strategy'])))}</td>"
        f"<td>{r['cost_per_100']:,.0f}</td>"
        f"<td>{r['incremental_ui_low']:,.0f} to {r['incremental_ui_high']:,.0f}</td>"
        f"<td>{_money(r['cost_per_relapse_averted'])}</td></tr>"
        for _, r in table.iterrows()
    )
    return (
        f"<h3>Costs ({html.escape(str(result.currency))})</h3>{note}<table><tr><th>strategy</th>"
        "<th>cost per 100 people</th><th>extra cost vs reference, 95 % UI</th>"
        f"<th>cost per relapse averted</th></tr>{rows}</table>"
    )
