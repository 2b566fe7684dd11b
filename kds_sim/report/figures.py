"""The brief's figures, drawn for a reader rather than an analyst: a ranked forest plot with
the strategies' labels, each strategy's survival against the reference with the difference
band (small multiples), and group capacity over time against the PEKA 'good' line.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies), assigned by rank so a strategy keeps its colour in every figure; the reference
is grey. All text comes from the message catalogue, in the report's language.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from scipy import stats

from kds_sim.analysis import statistics
from kds_sim.analysis.comparison import ComparisonResult
from kds_sim.io.plots import GOOD_LINE, PALETTE, REFERENCE_GREY
from kds_sim.messages import t
from kds_sim.report.labels import num, scenario_label
from kds_sim.report.summary import Standing, kind_text, value_and_range


def colours(standings: list[Standing]) -> dict[str, str]:
    """Strategy name -> colour, by rank (the palette repeats after eight strategies)."""
    return {s.name: PALETTE[i % len(PALETTE)] for i, s in enumerate(standings)}


def _wrap(text: str, width: int = 34) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def forest(standings: list[Standing], lang: str, when_words: str, reference: str) -> Any:
    """Relapses prevented per 100 with their intervals, most first, value written beside."""
    import matplotlib.pyplot as plt

    n = max(1, len(standings))
    figure, ax = plt.subplots(figsize=(7.6, 1.2 + 0.4 * n))
    palette = colours(standings)
    for y, s in enumerate(standings):
        # the interval as a bar from low to high: an uncertainty interval from parameter
        # draws need not contain the point estimate at the calibrated values
        colour = palette[s.name]
        ax.hlines(y, s.averted_low, s.averted_high, color=colour, linewidth=2.2)
        ax.plot([s.averted_low, s.averted_high], [y, y], "|", color=colour, markersize=7)
        ax.plot(s.averted, y, "o", color=colour, markersize=6)
        value, interval = value_and_range(s.averted, s.averted_low, s.averted_high, lang)
        ax.annotate(
            f"{value}  ({interval})",
            xy=(1.01, y),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8.5,
            color="#333333",
        )
    ax.axvline(0, color=REFERENCE_GREY, linewidth=1)
    ax.set_yticks(range(len(standings)), [_wrap(s.label) for s in standings], fontsize=9)
    ax.set_ylim(len(standings) - 0.5, -0.5)
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(axis="x", labelsize=8.5)
    ax.xaxis.set_major_formatter(_formatter(lang))
    kinds = "; ".join(kind_text(k, lang) for k in dict.fromkeys(s.kind for s in standings))
    ax.set_xlabel(
        t("report.forest_axis", lang, when=when_words) + "\n" + textwrap.fill(f"({kinds})", 95),
        fontsize=8.5,
    )
    ax.set_title(
        _wrap(t("report.forest_title", lang, when=when_words, reference=reference), 80),
        fontsize=10,
        loc="left",
    )
    figure.tight_layout()
    return figure


def _formatter(lang: str, digits: int | None = None) -> Any:
    """Tick labels with the locale's decimal mark."""
    from matplotlib.ticker import FuncFormatter

    def shown(value: float, _: object) -> str:
        places = digits if digits is not None else (0 if float(value).is_integer() else 1)
        return num(value, lang, places)

    return FuncFormatter(shown)


def _curves(result: ComparisonResult, name: str, days: np.ndarray) -> np.ndarray:
    """Kaplan-Meier relapse-free survival of each replicate: [replicate, day]."""
    people = result.results[name].people
    return np.array(
        [statistics.kaplan_meier(g, days) for _, g in people.groupby("replicate", sort=True)]
    )


def _band(values: np.ndarray, share: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over replicates (axis 0) with its 95 % Student-t CI, day by day; for a share,
    the Wilson interval, which stays inside [0, 1] (statistics.proportion_ci)."""
    if share:
        rows = [statistics.proportion_ci(values[:, j]) for j in range(values.shape[1])]
        mean, low, high = (np.array(column) for column in zip(*rows, strict=True))
        return mean, low, high
    mean = values.mean(axis=0)
    if len(values) < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(axis=0, ddof=1) / np.sqrt(len(values))
    return mean, mean - half, mean + half


def survival_panels(result: ComparisonResult, standings: list[Standing], lang: str) -> Any:
    """One panel per strategy, in rank order: its relapse-free survival against the
    reference's (top) and the paired difference, relapses prevented per 100, with its 95 %
    band (bottom). Replicates are paired on common random numbers, so the band is narrow."""
    import matplotlib.pyplot as plt

    days = np.arange(result.horizon + 1)
    reference = _curves(result, result.reference, days)
    ref_mean = reference.mean(axis=0)
    palette = colours(standings)
    count = max(1, len(standings))
    cols = min(3, count)
    rows = int(np.ceil(count / cols))
    figure = plt.figure(figsize=(3.35 * cols + 0.4, 2.85 * rows + 0.3))
    grid = figure.add_gridspec(rows, cols, hspace=0.55, wspace=0.28)
    survival_axes, difference_axes = [], []
    for i, s in enumerate(standings):
        cell = grid[i // cols, i % cols].subgridspec(2, 1, height_ratios=(2.2, 1), hspace=0.08)
        top = figure.add_subplot(cell[0])
        bottom = figure.add_subplot(cell[1], sharex=top)
        curves = _curves(result, s.name, days)
        mean, low, high = _band(curves, share=True)
        colour = palette[s.name]
        top.plot(days, ref_mean, color=REFERENCE_GREY, linestyle="--", linewidth=1.2)
        top.fill_between(days, low, high, color=colour, alpha=0.25, linewidth=0, step="post")
        top.step(days, mean, where="post", color=colour, linewidth=1.6)
        top.set_title(_wrap(s.label, 38), fontsize=8.5, loc="left")
        top.tick_params(labelbottom=False, labelsize=7.5)
        diff, d_low, d_high = _band(100 * (curves - reference))
        bottom.axhline(0, color=REFERENCE_GREY, linewidth=0.8)
        bottom.fill_between(days, d_low, d_high, color=colour, alpha=0.3, linewidth=0)
        bottom.plot(days, diff, color=colour, linewidth=1.3)
        bottom.tick_params(labelsize=7.5)
        for ax in (top, bottom):
            ax.grid(alpha=0.25)
            ax.spines[["top", "right"]].set_visible(False)
        if i % cols == 0:
            top.set_ylabel(t("report.survival_axis", lang), fontsize=8)
            bottom.set_ylabel(_wrap(t("report.difference_axis", lang), 12), fontsize=7)
        if i // cols == rows - 1 or i + cols >= count:
            bottom.set_xlabel(t("report.days_axis", lang), fontsize=8)
        survival_axes.append(top)
        difference_axes.append(bottom)
    figure.align_ylabels()
    _share_limits(survival_axes, upper=1.0, lower=0.0)
    _share_limits(difference_axes)
    for ax in survival_axes:
        ax.yaxis.set_major_formatter(_percent_formatter(lang))
    for ax in difference_axes:
        ax.yaxis.set_major_formatter(_formatter(lang))
    if survival_axes:
        survival_axes[0].legend(
            handles=[
                plt.Line2D([], [], color=REFERENCE_GREY, linestyle="--", linewidth=1.2),
            ],
            labels=[
                f"{t('report.reference_line', lang)}: "
                f"{scenario_label(result.results[result.reference].scenario, lang)}"
            ],
            fontsize=7,
            loc="lower left",
            frameon=False,
        )
    return figure


def _percent_formatter(lang: str) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(
        lambda value, _: t("report.percent", lang, value=num(100 * value, lang, 0))
    )


def _share_limits(axes: list[Any], upper: float | None = None, lower: float | None = None) -> None:
    """The same y range on every panel, so the panels compare at a glance (`lower`: a fixed
    bottom, 0 for survival: a cut axis makes small differences look large)."""
    if not axes:
        return
    lows, highs = zip(*(ax.get_ylim() for ax in axes), strict=True)
    low = min(lows) if lower is None else lower
    high = upper if upper is not None else max(highs)
    for ax in axes:
        ax.set_ylim(low, high)


def capacity_lines(result: ComparisonResult, standings: list[Standing], lang: str) -> Any:
    """Mean PEKA capacity by day, one line per strategy with a group, and the 2.75 line."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MultipleLocator

    palette = colours(standings)
    with_group = [s for s in standings if result.results[s.name].scenario.group.enabled]
    if not with_group:
        return None
    figure, ax = plt.subplots(figsize=(7.6, 3.9))
    styles = ("-", "--", "-.", ":")
    for i, s in enumerate(with_group):
        daily = result.results[s.name].daily
        mean = daily.groupby("day")["capacity_mean"].mean()
        ax.plot(
            mean.index,
            mean.to_numpy(),
            color=palette[s.name],
            linestyle=styles[i % len(styles)],
            linewidth=1.8,
            label=_wrap(s.label, 40),
        )
    ax.axhline(
        GOOD_LINE,
        color="#222222",
        linestyle=(0, (4, 3)),
        linewidth=1,
        label=t("report.good_line", lang),  # in the legend: a label on the plot hides lines
    )
    ax.set_xlabel(t("report.days_axis", lang), fontsize=9)
    ax.set_ylabel(t("report.capacity_axis", lang), fontsize=9)
    low = float(np.floor(2 * min(ax.get_ylim()[0], GOOD_LINE - 0.25)) / 2)
    ax.set_ylim(max(1.0, low), 4.0)  # the top of the PEKA scale stays in view
    ax.yaxis.set_major_locator(MultipleLocator(0.25))  # so 2.75 is a tick
    ax.yaxis.set_major_formatter(_formatter(lang, 2))
    ax.tick_params(labelsize=8.5)
    ax.grid(alpha=0.25)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7.5, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    figure.tight_layout()
    return figure
