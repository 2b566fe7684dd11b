"""Every number in README.md, generated from the committed results in experiments/results/.

README.md marks each generated block with `<!-- generated: NAME -->` ... `<!-- end: NAME -->`.
This script rewrites those blocks; `tests/test_readme.py` fails when the README and the
committed results disagree.

    python experiments/readme_tables.py          # rewrite README.md
    python experiments/readme_tables.py --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
README = ROOT / "README.md"

HEADLINE = (
    ("no_group", "no group"),
    ("group_as_assessed", "group as assessed (PEKA 2.7, HR 2.0)"),
    ("capacity_building", "full capacity building"),
    ("capacity_building_mentoring", "full capacity building + mentoring"),
)


def _cell(row: pd.Series, digits: int) -> str:
    return f"{row['mean']:.{digits}f} [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]"


def headline() -> str:
    """The policy table: relapses averted at 12 months with 95 % uncertainty intervals from
    the uncertainty comparison, and the Monte Carlo CI at the calibrated values beside them."""
    folder = RESULTS / "compare_uncertainty"
    ui = pd.read_csv(folder / "uncertainty.csv").set_index(["strategy", "metric"])
    best = pd.read_csv(folder / "probability_best.csv").set_index("strategy")["probability_best"]
    drivers = pd.read_csv(folder / "uncertainty_variance.csv")
    timing = json.loads((folder / "timing.json").read_text(encoding="utf-8"))
    point = pd.read_csv(folder / "comparison.csv")  # the same run, at the calibrated values
    point = point.set_index(["scenario", "metric"])
    replicates = int(point["replicates"].iloc[0])
    lines = [
        "| scenario | relapse by 12 months: mean (95 % UI) | relapses averted per 100 at 12 "
        "months: mean (95 % UI) | probability best | at the calibrated values: averted "
        "[95 % Monte Carlo CI] |",
        "|---|---|---|---|---|",
    ]
    for name, label in HEADLINE:
        r = ui.loc[(name, "relapse_365d")]
        relapse = f"{r['mean']:.2f} ({r['ui_low']:.2f} to {r['ui_high']:.2f})"
        if name == "no_group":
            averted, chance, mc = "reference", "", "reference"
        else:
            a = ui.loc[(name, "averted_per_100_365d")]
            averted = f"{a['mean']:.1f} ({a['ui_low']:.1f} to {a['ui_high']:.1f})"
            chance = f"{best[name]:.0%}"
            mc = _cell(point.loc[(name, "averted_per_100_365d")], 1)
        lines.append(f"| {label} | {relapse} | {averted} | {chance} | {mc} |")
    params = drivers[~drivers["parameter"].str.startswith("(")]
    top = params[params["share"] > params["noise_floor"]].head(3)
    named = ", ".join(
        f"`{p}` ({s:.0%})" for p, s in zip(top["parameter"], top["share"], strict=True)
    )
    floors = params.groupby("drawn_from")["noise_floor"].first()
    floor = " and ".join(f"{v:.0%} for {k} draws" for k, v in floors.items())
    joint = drivers[drivers["parameter"] == "(posterior, jointly)"]["share"]
    if len(joint):
        named += f"; the posterior's parameters jointly {joint.iloc[0]:.0%}"
    strategy = dict(HEADLINE).get(drivers["strategy"].iloc[0], drivers["strategy"].iloc[0])
    lines += [
        "",
        f"95 % uncertainty interval (UI): the middle 95 % over {timing['draws']} parameter draws "
        f"({_drawn(timing)}), {timing['replicates']} replicates of 300 people each, all "
        "strategies on the same draws and random numbers. Probability best: share of draws in "
        "which the strategy averts the most (ties shared). Last column: "
        f"{replicates} replicates at the calibrated values; that interval is the precision of "
        "the mean only. What drives the "
        f"width for {strategy}: {named} of the variance across draws (single "
        f"parameters above their noise floor, {floor}; "
        "`experiments/results/compare_uncertainty/`).",
    ]
    return "\n".join(lines)


def _drawn(timing: dict) -> str:
    """Which parameters the draws vary, and from what."""
    posterior = len(timing["from_posterior"])
    others = timing["parameters_drawn"] - posterior
    if posterior:
        return (
            f"the calibration posterior for the {posterior} parameters it holds, priors for the "
            f"other {others}"
        )
    if timing.get("vary_prefix"):
        prefixes = ", ".join(f"`{p}*`" for p in timing["vary_prefix"])
        return (
            f"the {others} parameters no calibration target informs ({prefixes}) from their "
            "priors; the behaviour parameters at their calibrated values"
        )
    return f"all {others} uncertain parameters from their priors"


def five_years() -> str:
    """The five-year sentence, from the five-year comparison."""
    table = pd.read_csv(RESULTS / "compare_interventions" / "five_years" / "comparison.csv")
    table = table.set_index(["scenario", "metric"])
    folder = RESULTS / "compare_interventions" / "five_years"
    draws = None
    if (folder / "uncertainty.csv").exists():
        draws = pd.read_csv(folder / "uncertainty.csv").set_index(["strategy", "metric"])

    def averted(name: str) -> str:
        point = table.loc[(name, "averted_per_100_horizon"), "mean"]
        if draws is None:
            return f"{point:.1f}"
        row = draws.loc[(name, "averted_per_100_horizon")]
        return (
            f"{row['mean']:.1f} (95 % UI {row['ui_low']:.1f} to {row['ui_high']:.1f}; "
            f"{point:.1f} at the calibrated values)"
        )

    building = averted("capacity_building")
    mentoring = averted("capacity_building_mentoring")
    capacity = pd.read_csv(
        RESULTS / "compare_interventions" / "five_years" / "capacity_by_year.csv"
    )
    plain = capacity[capacity["scenario"] == "capacity_building"].set_index("year")
    above = plain.index[plain["capacity_mean"] >= 2.75]
    later = plain[plain.index > (above.min() if len(above) else 0)]
    below = later.index[later["capacity_mean"] < 2.75]
    when = f"by anniversary {int(below.min())}" if len(below) else "at no anniversary"
    best = ""
    chances = RESULTS / "compare_interventions" / "five_years" / "probability_best.csv"
    if chances.exists():
        share = pd.read_csv(chances).set_index("strategy")["probability_best"]
        best = (
            f" Mentoring makes the package the better of the two in "
            f"{share['capacity_building_mentoring']:.0%} of parameter draws (ties shared)."
        )
    return (
        f"Over five years, capacity building averts {building} and "
        f"with mentoring {mentoring} relapses per 100.{best} Without mentoring the group's "
        f'mean capacity falls back below the PEKA "good" line (2.75) {when}.'
    )


def performance() -> str:
    """The performance table, from benchmark_peers.csv."""
    table = pd.read_csv(RESULTS / "benchmark_peers.csv")
    lines = [
        "| engine | people x replicates | agent-steps/s (wall) | per CPU second | setup s "
        "| peak RSS MB | load | vs Starsim + our kernel (CPU) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        ratio = row.cpu_ratio_to_starsim_kernel
        ratio_text = "—" if pd.isna(ratio) else f"{ratio:.2f}"
        lines.append(
            f"| {row.engine} | {row.people:,} x {row.replicates} | {row.steps_per_s / 1e6:.2f} M "
            f"| {row.steps_per_cpu_s / 1e6:.2f} M | {row.setup_s:.2f} | {row.rss_peak_mb:.0f} "
            f"| {row.load_1min:.1f} | {ratio_text} |"
        )
    return "\n".join(lines)


BLOCKS: dict[str, Callable[[], str]] = {
    "headline": headline,
    "five_years": five_years,
    "performance": performance,
}


def render(text: str) -> str:
    """README text with every generated block rewritten."""
    for name, make in BLOCKS.items():
        pattern = re.compile(rf"(<!-- generated: {name} -->\n).*?(<!-- end: {name} -->)", re.S)
        text = pattern.sub(lambda m, make=make: m.group(1) + make() + "\n" + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(
                "README.md is out of date: run python experiments/readme_tables.py", file=sys.stderr
            )
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
