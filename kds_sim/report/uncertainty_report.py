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
from kds_sim.report.labels import num, parameter_label, percent, suffix

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000")
"""A colour-blind-safe palette (Okabe & Ito 2008)."""


def _label(labels: dict[str, str] | None, name: str) -> str:
    return (labels or {}).get(name) or name


def fan_chart(
    result: UncertaintyResult, labels: dict[str, str] | None = None, lang: str = "en"
) -> Any:
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
        ax.plot(
            fan["day"], fan["median"], color=colour, lw=2, label=msg("uncertainty.median", lang)
        )
        if name != result.reference:
            reference = msg("report.reference_line", lang)
            ax.plot(ref["day"], ref["median"], color="#555", lw=1.2, ls="--", label=reference)
        ax.set_title(_label(labels, name), fontsize=10)
        ax.set_ylim(0, 1.0)  # from 0: a cut axis makes small differences look large
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(msg("report.survival_axis", lang))
    for ax in axes[-1, :]:
        ax.set_xlabel(msg("report.days_axis", lang))
    axes.flat[0].legend(fontsize=8, loc="lower left")
    figure.suptitle(msg("uncertainty.fan_title", lang), fontsize=11)
    figure.tight_layout()
    return figure


def forest(
    result: UncertaintyResult,
    metric: str = "averted_per_100_365d",
    labels: dict[str, str] | None = None,
    lang: str = "en",
) -> Any:
    """Ranked: each strategy's mean and 95 % UI (the Monte Carlo CI of the mean, a precision,
    is in the tables, not in the headline figure)."""
    import matplotlib.pyplot as plt

    table = result.summary()
    table = table[(table["metric"] == metric) & (table["strategy"] != result.reference)]
    table = table.sort_values("mean", ignore_index=True)
    figure, ax = plt.subplots(figsize=(7.5, 0.7 * len(table) + 1.4))
    y = np.arange(len(table))
    ax.hlines(y, table["ui_low"], table["ui_high"], color=OKABE_ITO[0], lw=6, alpha=0.45)
    ax.plot(table["mean"], y, "o", color="#000", ms=5)
    ax.axvline(0, color="#555", lw=1)
    ax.set_yticks(y, [_label(labels, s) for s in table["strategy"]])
    reference = _label(labels, result.reference)
    ax.set_xlabel(msg("uncertainty.forest_axis", lang, reference=reference))
    ax.set_title(msg("uncertainty.forest_title", lang))
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure


def _parameter_words(key: str, lang: str) -> str:
    """A parameter or summary row in words (never a variable name on a figure)."""
    if key == "(posterior, jointly)":
        return msg("uncertainty.joint", lang)
    if key == "(replicate noise)":
        return msg("uncertainty.noise", lang)
    return parameter_label(key, lang)


def variance_chart(shares: pd.DataFrame, lang: str = "en", strategy: str = "") -> Any:
    """What drives the width: share of the across-draw variance per parameter."""
    import matplotlib.pyplot as plt

    table = shares.iloc[::-1]
    names = [_parameter_words(str(k), lang) for k in table["parameter"]]
    figure, ax = plt.subplots(figsize=(7.5, 0.4 * len(table) + 1.3))
    ax.barh(names, table["share"].clip(lower=0), color=OKABE_ITO[3])
    floor = table["noise_floor"]
    if floor.notna().any():  # per row: posterior parameters have a higher floor (particles)
        ax.scatter(
            floor,
            names,
            marker="|",
            s=160,
            color="#222",
            label=msg("uncertainty.floor", lang),
        )
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel(msg("uncertainty.share_axis", lang))
    ax.set_title(msg("uncertainty.drivers_title", lang, strategy=strategy))
    figure.tight_layout()
    return figure


def ceac_chart(
    result: UncertaintyResult, labels: dict[str, str] | None = None, lang: str = "en"
) -> Any:
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
    reference_price = (
        result.unit_costs.units.get("rehabilitation_per_person") if result.unit_costs else None
    )
    if reference_price is not None:
        ax.axvline(
            reference_price.value,
            color="#555",
            lw=1,
            ls=":",
            label=msg("uncertainty.rehab_line", lang),
        )
    ax.set_xlabel(msg("uncertainty.ceac_axis", lang, currency=result.currency or ""))
    ax.set_ylabel(msg("uncertainty.ceac_probability", lang))
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title(msg("uncertainty.ceac_title", lang))
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
    """Per strategy: mean, 95 % UI, the probability of averting at least `at_least` per 100,
    and the Monte Carlo CI of the mean last (a precision, never the headline range)."""
    table = result.summary()
    table = table[table["metric"] == metric].set_index("strategy")
    reach = result.probability_at_least(at_least, metric).set_index("strategy")["probability"]
    out = table[["mean", "ui_low", "ui_high"]].copy()
    out[f"probability_at_least_{at_least:g}"] = reach
    out[["mc_ci_low", "mc_ci_high"]] = table[["mc_ci_low", "mc_ci_high"]]
    out = out.drop(index=result.reference, errors="ignore")
    return out.sort_values("mean", ascending=False).reset_index()


def uncertainty_options(result: UncertaintyResult, at_least: float) -> list[str]:
    """The `kds-sim compare` options that repeat this analysis (for the brief's appendix),
    as words for shlex.join."""
    extra = [] if result.effect_prior == "lognormal" else ["--effect-prior", result.effect_prior]
    return [
        *extra,
        "--uncertainty",
        result.plan.option,
        "--draws",
        str(result.conditioning.get("draws", result.draws)),
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
    mid: float = 1.0,
    nested: set[tuple[str, str]] | None = None,
) -> tuple[list[Path], Html]:
    """Tables (unless `tables` is False: a second language needs only its figures) and
    figures into `out`; returns the files and the report's HTML section (text from the
    message catalogue in `lang`)."""
    out = Path(out)
    written = result.write(out) if tables else []
    figures: dict[str, Any] = {"uncertainty_survival": fan_chart(result, labels, lang)}
    many = len(result.strategies) > 1
    shares = None
    if many:
        table = headline(result, at_least)
        if tables:
            written += storage.write_table(out / "uncertainty_headline", table)
        figures["uncertainty_forest"] = forest(result, labels=labels, lang=lang)
        main = main_strategy(result)
        shares = result.variance_shares("averted_per_100_365d", main, top=10)
        if tables:
            written += storage.write_table(out / "uncertainty_variance", shares)
        figures["uncertainty_variance"] = variance_chart(shares, lang, _label(labels, main))
        if result.costs is not None:
            figures["ceac"] = ceac_chart(result, labels, lang)
    paths = {
        name: storage.write_figure(out / f"{name}{suffix(lang)}.png", fig)
        for name, fig in figures.items()
    }
    written += list(paths.values())
    source = msg(
        "uncertainty.from_posterior" if result.plan.from_posterior else "uncertainty.from_prior",
        lang,
    )
    text = {"draws": result.draws, "replicates": result.replicates, "source": source}
    drawn = msg(
        "uncertainty.drawn",
        lang,
        count=len(result.plan.keys),
        kept=result.conditioning.get("kept", result.draws),
        total=result.conditioning.get("draws", result.draws),
    )
    parts = [
        el("h2", msg("uncertainty.title", lang)),
        el("p", msg("uncertainty.ui_text", lang, **text)),
        el("p", msg("uncertainty.mc_text", lang, **text), " ", drawn, class_="note"),
    ]
    if many:
        parts.append(html_table(table, labels, at_least, lang))
        parts.append(pairs_table(result, labels, lang, mid, nested))
    alts = {
        "uncertainty_forest": msg("uncertainty.forest_title", lang),
        "uncertainty_survival": msg("uncertainty.fan_title", lang),
        "uncertainty_variance": msg("uncertainty.drivers_title", lang, strategy=""),
        "ceac": msg("uncertainty.ceac_title", lang),
    }
    for name in ("uncertainty_forest", "uncertainty_survival"):
        if name in paths:
            parts.append(embed_image(paths[name], alts[name]))
    if shares is not None:
        who = _label(labels, main_strategy(result))
        parts.append(el("p", msg("uncertainty.drivers", lang, strategy=who)))
        parts.append(embed_image(paths["uncertainty_variance"], alts["uncertainty_variance"]))
    if result.costs is not None:
        parts.append(cost_html(result, labels, lang))
        parts.append(embed_image(paths["ceac"], alts["ceac"]))
    return written, el("section", *parts, class_="uncertainty")


def _row(*cells: object, head: bool = False) -> Html:
    return el("tr", *(el("th" if head else "td", c) for c in cells))


def html_table(
    table: pd.DataFrame, labels: dict[str, str] | None, at_least: float, lang: str = "en"
) -> Html:
    keys = ("strategy", "mean", "ui")
    cells = [msg(f"uncertainty.{k}", lang) for k in keys]
    cells.append(msg("uncertainty.at_least", lang, x=num(at_least, lang, 0)))
    cells.append(msg("uncertainty.mc", lang))
    to = msg("uncertainty.to", lang)
    rows = [
        _row(
            _label(labels, str(r["strategy"])),
            num(r["mean"], lang, 1),
            f"{num(r['ui_low'], lang, 1)} {to} {num(r['ui_high'], lang, 1)}",
            percent(r[f"probability_at_least_{at_least:g}"], lang, 0),
            f"{num(r['mc_ci_low'], lang, 1)} {to} {num(r['mc_ci_high'], lang, 1)}",
        )
        for _, r in table.iterrows()
    ]
    return el("table", _row(*cells, head=True), *rows)


def pairs_table(
    result: UncertaintyResult,
    labels: dict[str, str] | None,
    lang: str = "en",
    mid: float = 1.0,
    nested: set[tuple[str, str]] | None = None,
) -> Html:
    """Every pair: the paired difference, its UI, P(at least the MID more), ties, nesting."""
    pairs = result.pairwise(mid=mid, nested=nested)
    to = msg("uncertainty.to", lang)
    heads = ("pair", "difference", "ui", "at_least_mid", "tied")
    cells = [msg(f"uncertainty.{k}", lang, mid=num(mid, lang, 0)) for k in heads]
    rows = []
    for _, r in pairs.iterrows():
        pair = msg(
            "uncertainty.pair_nested" if r["nested"] else "uncertainty.pair_text",
            lang,
            first=_label(labels, str(r["strategy"])),
            second=_label(labels, str(r["versus"])),
        )
        rows.append(
            _row(
                pair,
                num(r["mean_difference"], lang, 1),
                f"{num(r['ui_low'], lang, 1)} {to} {num(r['ui_high'], lang, 1)}",
                percent(r["probability_at_least_mid"], lang, 0),
                percent(r["share_tied"], lang, 0),
            )
        )
    title = el("h3", msg("uncertainty.pairs_title", lang, mid=num(mid, lang, 0)))
    return join([title, el("table", _row(*cells, head=True), *rows)])


def _money(value: float, lang: str = "en") -> str:
    return "" if np.isnan(value) else num(value, lang, 0)


def cost_html(result: UncertaintyResult, labels: dict[str, str] | None, lang: str = "en") -> Html:
    table = result.cost_summary()
    note = (
        el("p", el("b", msg("uncertainty.illustrative", lang)), class_="note")
        if result.illustrative_costs
        else None
    )
    to = msg("uncertainty.to", lang)
    rows = [
        _row(
            _label(labels, str(r["strategy"])),
            _money(r["cost_per_100"], lang),
            f"{_money(r['incremental_ui_low'], lang)} {to} "
            f"{_money(r['incremental_ui_high'], lang)}",
            _money(r["cost_per_relapse_averted"], lang),
            f"{_money(r['cost_per_relapse_averted_ui_low'], lang)} {to} "
            f"{_money(r['cost_per_relapse_averted_ui_high'], lang)}",
        )
        for _, r in table.iterrows()
    ]
    heads = ("strategy", "cost_per_100", "extra_cost", "cost_per_averted", "ui")
    head = _row(*(msg(f"uncertainty.{k}", lang) for k in heads), head=True)
    title = msg("uncertainty.costs", lang, currency=result.currency)
    sources = None
    if result.unit_costs is not None:
        items = [
            el(
                "li",
                msg(f"uncertainty.unit_{k}", lang),
                ": ",
                num(u.value, lang, 0),
                " (",
                num(u.low, lang, 0),
                f" {to} ",
                num(u.high, lang, 0),
                "). ",
                u.text(lang),
            )
            for k, u in result.unit_costs.units.items()
        ]
        sources = el("ul", *items, class_="note")
    return join([el("h3", title), note, el("table", head, *rows), sources])
