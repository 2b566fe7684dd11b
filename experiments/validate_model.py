"""Behaviour of the calibrated model on figures NOT used to calibrate it (docs/validation.md).

Runs the shipped no_group and group_as_assessed scenarios for 5 years and reports, with 95 %
CIs over replicates: the relapse curve at several days, the share of first-year relapses that
happen in the first 90 days, the relapse hazard by period, the share of lapses that become
relapses, and the 12-month relapse gradient over using-friend ties.

    python experiments/validate_model.py --replicates 100 --workers 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

import kds_sim
from kds_sim.analysis import statistics
from kds_sim.io import plots, storage

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results" / "validation"
DAYS = (30, 90, 180, 365, 730, 1095, 1825)
PERIODS = ((0, 90), (90, 180), (180, 365), (365, 730), (730, 1825))


def per_replicate(people: pd.DataFrame) -> pd.DataFrame:
    """Validation metrics of each replicate."""
    rows = []
    for replicate, p in people.groupby("replicate"):
        first = p["first_relapse_day"]
        row = {"replicate": replicate}
        for d in DAYS:
            row[f"relapse_{d}d"] = float((first <= d).mean())
        row["first_year_relapses_in_90d"] = (
            float((first <= 90).sum() / (first <= 365).sum()) if (first <= 365).any() else np.nan
        )
        for a, b in PERIODS:
            at_risk = np.clip(p["relapse_time"] - a, 0, b - a).sum()  # person-days
            events = ((first > a) & (first <= b)).sum()
            row[f"hazard_{a}_{b}d_per_year"] = float(events / at_risk * 365) if at_risk else 0
        row["lapse_to_relapse_share"] = float(
            p["relapses"].sum() / max(1, p["lapses"].sum() - p["open_lapse"].sum())
        )
        ties = p["using_ties"]
        row["relapse_365d_0_1_using_ties"] = float((first[ties <= 1] <= 365).mean())
        row["relapse_365d_4plus_using_ties"] = float((first[ties >= 4] <= 365).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    tables, curves = [], []
    for name in ("no_group", "group_as_assessed"):
        scenario = kds_sim.load_scenario(ROOT / "scenarios" / f"{name}.toml")
        result = kds_sim.run(
            scenario,
            replicates=args.replicates,
            horizon=1825,
            workers=args.workers,
            progress=not args.no_progress,
        )
        summary = statistics.summarise(per_replicate(result.people))
        summary.insert(0, "scenario", name)
        tables.append(summary)
        curves.append(result.survival())
    table = pd.concat(tables, ignore_index=True)
    storage.write_table(args.out / "validation", table)
    curve = pd.concat(curves, ignore_index=True)
    figure, ax = plots.new_axes(8, 4.6)
    plots.survival(curve, ax, "Relapse-free survival over 5 years (calibrated model)")
    ax.plot(
        [365, 1825],
        [0.60, 1 - 0.6678],
        "kx",
        markersize=9,
        label="targets: 40 % by 1 year, 66.78 % by 5 years",
    )
    ax.legend(fontsize=8, loc="lower left")
    storage.write_figure(args.out / "survival_5_years.png", figure)
    with pd.option_context("display.width", 200, "display.max_rows", 100):
        print(table[["scenario", "metric", "mean", "ci_low", "ci_high"]].to_string(index=False))
    print(f"wrote {args.out}/")
    print(f"reproduce: python experiments/validate_model.py --replicates {args.replicates}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
