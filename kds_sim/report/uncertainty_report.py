"""Figures and the report section of an uncertainty analysis (`--uncertainty`).

Every figure shows the 95 % uncertainty interval (parameter and stochastic uncertainty); the
Monte Carlo CI, where shown, is drawn thin and labelled as the precision of the mean.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kds_sim.analysis.uncertainty import UncertaintyResult
from kds_sim.io import storage
from kds_sim.io.plots import plain_text
from kds_sim.messages import t as msg
from kds_sim.report.html import Html, el, join
from kds_sim.report.images import embed_image
from kds_sim.report.labels import num, percent, suffix

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000")
"""A colour-blind-safe palette (Okabe & Ito 2008)."""


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
    floor = table["noise_floor"]
    if floor.notna().any():  # per row: posterior parameters have a higher floor (particles)
        ax.scatter(
            floor,
            table["parameter"],
            marker="|",
            s=160,
            color="#222",
            label="noise floor at this D",
        )
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


def uncertainty_options(result: UncertaintyResult, at_least: float) -> list[str]:
    """The `kds-sim compare` options that repeat this analysis (for the brief's appendix),
    as words for shlex.join."""
    return [
        "--uncertainty",
        result.plan.option,
        "--draws",
        str(result.draws),
        "--draw-replicates",
        str(result.replicates),
        "--at-least",
        f"{at_least:g}",
    ]


@plain_text()
def write_uncertainty(
    result: UncertaintyResult,
    out: str | Path,
    at_least: float = 3.0,
    labels: dict[str, str] | None = None,
    lang: str = "en",
    tables: bool = True,
) -> tuple[list[Path], Html]:
    """Tables (unless `tables` is False: a second language needs only its figures) and
    figures into `out`; returns the files and the report's HTML section (text from the
    message catalogue in `lang`)."""
    out = Path(out)
    written = result.write(out) if tables else []
    figures: dict[str, Any] = {"uncertainty_survival": fan_chart(result, labels)}
    many = len(result.strategies) > 1
    shares = None
    if many:
        table = headline(result, at_least)
        if tables:
            written += storage.write_table(out / "uncertainty_headline", table)
        figures["uncertainty_forest"] = forest(result, labels=labels)
        figures["probability_best"] = probability_best_chart(result, labels)
        main = main_strategy(result)
        shares = result.variance_shares("averted_per_100_365d", main, top=10)
        if tables:
            written += storage.write_table(out / "uncertainty_variance", shares)
        figures["uncertainty_variance"] = variance_chart(shares)
        if result.costs is not None:
            figures["ceac"] = ceac_chart(result, labels)
    paths = {
        name: storage.write_figure(out / f"{name}{suffix(lang)}.png", fig)
        for name, fig in figures.items()
    }
    written += list(paths.values())
    text = {"draws": result.draws, "replicates": result.replicates, "source": result.plan.source}
    levers = ", ".join(result.plan.levers) or msg("uncertainty.none", lang)
    drawn = msg("uncertainty.drawn", lang, count=len(result.plan.keys), levers=levers)
    parts = [
        el("h2", msg("uncertainty.title", lang)),
        el("p", msg("uncertainty.ui_text", lang, **text)),
        el("p", msg("uncertainty.mc_text", lang, **text), " ", drawn, class_="note"),
    ]
    if many:
        parts.append(html_table(table, labels, at_least, lang))
    for name in ("uncertainty_forest", "probability_best", "uncertainty_survival"):
        if name in paths:
            parts.append(embed_image(paths[name]))
    if shares is not None:
        who = _label(labels, main_strategy(result))
        parts.append(el("p", msg("uncertainty.drivers", lang, strategy=who)))
        parts.append(embed_image(paths["uncertainty_variance"]))
    if result.costs is not None:
        parts.append(cost_html(result, labels, lang))
        parts.append(embed_image(paths["ceac"]))
    return written, el("section", *parts, class_="uncertainty")


def _row(*cells: object, head: bool = False) -> Html:
    return el("tr", *(el("th" if head else "td", c) for c in cells))


def html_table(
    table: pd.DataFrame, labels: dict[str, str] | None, at_least: float, lang: str = "en"
) -> Html:
    keys = ("strategy", "mean", "ui", "mc", "best")
    cells = [msg(f"uncertainty.{k}", lang) for k in keys]
    cells.append(msg("uncertainty.at_least", lang, x=f"{at_least:g}"))
    to = msg("uncertainty.to", lang)
    rows = [
        _row(
            _label(labels, str(r["strategy"])),
            num(r["mean"], lang, 1),
            f"{num(r['ui_low'], lang, 1)} {to} {num(r['ui_high'], lang, 1)}",
            f"{num(r['mc_ci_low'], lang, 1)} {to} {num(r['mc_ci_high'], lang, 1)}",
            percent(r["probability_best"], lang, 0),
            percent(r[f"probability_at_least_{at_least:g}"], lang, 0),
        )
        for _, r in table.iterrows()
    ]
    return el("table", _row(*cells, head=True), *rows)


def _money(value: float) -> str:
    return "" if np.isnan(value) else f"{value:,.0f}"


def cost_html(result: UncertaintyResult, labels: dict[str, str] | None, lang: str = "en") -> Html:
    table = result.cost_summary()
    note = (
        el("p", el("b", msg("uncertainty.illustrative", lang)), class_="note")
        if result.illustrative_costs
        else None
    )
    rows = [
        _row(
            _label(labels, str(r["strategy"])),
            _money(r["cost_per_100"]),
            f"{_money(r['incremental_ui_low'])} to {_money(r['incremental_ui_high'])}",
            _money(r["cost_per_relapse_averted"]),
        )
        for _, r in table.iterrows()
    ]
    heads = ("strategy", "cost_per_100", "extra_cost", "cost_per_averted")
    head = _row(*(msg(f"uncertainty.{k}", lang) for k in heads), head=True)
    title = msg("uncertainty.costs", lang, currency=result.currency)
    return join([el("h3", title), note, el("table", head, *rows)])
