"""Reproduce the point calibration of the shipped scenarios (model 0.3).

Fits the free parameters of scenarios/targets/indonesia_2015.toml by Nelder-Mead, starting
from the schema defaults (so a re-run repeats the same search), with every other parameter at
its default. Writes the overlay scenarios/calibrated/indonesia_2015.toml that every shipped
scenario extends, and the fit table and a figure (each target against its simulated value with
a 95 % CI over fresh replicates) to experiments/results/calibration/.

With --from-posterior the search starts instead at the ABC posterior's medians
(experiments/calibrate_abc.py) and holds every other parameter the ABC identifies (posterior sd
/ prior sd below 0.5) at its posterior median.

    python experiments/calibrate_indonesia.py                   # a few minutes on one core
    python experiments/calibrate_indonesia.py --from-posterior  # start and hold at the posterior
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from kds_sim.analysis import abc, calibration
from kds_sim.io import plots, storage

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "scenarios" / "targets" / "indonesia_2015.toml"
OVERLAY = ROOT / "scenarios" / "calibrated" / "indonesia_2015.toml"
RESULTS = ROOT / "experiments" / "results" / "calibration"
POSTERIOR = ROOT / "scenarios" / "calibrated" / "indonesia_2015_posterior.parquet"
IDENTIFICATION = (
    ROOT / "experiments" / "results" / "calibration_abc" / "indonesia_2015_identification.csv"
)


def figure(table, path: Path) -> Path:
    """Each target against its simulated value, as a ratio to the target, with CI and band."""
    fig, ax = plots.new_axes(7.5, 0.8 + 0.55 * len(table))
    y = np.arange(len(table))
    # a bound target is drawn around its midpoint, its band spanning the bound
    middle = (table["bound_low"] + table["bound_high"]) / 2
    table = table.assign(
        value=table["value"].fillna(middle),
        tolerance=table["tolerance"].where(
            table["bound_low"].isna(), (table["bound_high"] - table["bound_low"]) / 2
        ),
    )
    ratio = table["simulated"] / table["value"]
    band = table["tolerance"] / table["value"]
    ax.barh(y, 2 * band, left=1 - band, color="#dde7f0", height=0.6, label="target +- tolerance")
    ax.errorbar(
        ratio,
        y,
        xerr=[ratio - table["ci_low"] / table["value"], table["ci_high"] / table["value"] - ratio],
        fmt="o",
        color="#1f4e79",
        capsize=3,
        label="simulated (95 % CI)",
    )
    ax.axvline(1, color="grey", linewidth=0.8)
    ax.set_yticks(
        y, [f"{t}\n{v:g}" for t, v in zip(table["target"], table["value"], strict=True)], fontsize=8
    )
    ax.invert_yaxis()
    ax.set_xlabel("simulated / target value")
    ax.set_title("Calibration: targets vs simulated (fresh seeds)")
    ax.legend(fontsize=8, loc="lower right")
    return storage.write_figure(path, fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-evaluations", type=int, help="default: the targets file's")
    parser.add_argument("--check-replicates", type=int, help="default: the targets file's")
    parser.add_argument("--overlay", type=Path, default=OVERLAY, help="overlay to write")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for table/figure")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--from-posterior",
        action="store_true",
        help="start at the ABC posterior's medians and hold the parameters it identifies",
    )
    args = parser.parse_args(argv)

    targets = calibration.load_targets(TARGETS)
    free = dict(targets.spec.free)
    held: dict[str, float] = {}
    if args.from_posterior:
        start, held = abc.point_start(list(free), POSTERIOR, IDENTIFICATION)
    else:
        start = {key: float(calibration.schema_default(key)) for key in free}
    result = calibration.calibrate(
        targets,
        free,
        start=start,
        progress=not args.no_progress,
        max_evaluations=args.max_evaluations,
        check_replicates=args.check_replicates,
        held=held,
    )
    storage.write_text(
        args.overlay,
        calibration.overlay_text(result, targets, calibration.overlay_uncertainty(args.overlay)),
    )
    table = result.table()
    storage.write_table(args.results / "fit", table)
    storage.write_table(args.results / "history", result.history)
    figure(table, args.results / "fit.png")
    print("held at posterior medians:")
    for key, value in held.items():
        print(f"  {key} = {value:.6g}")
    print("fitted values:")
    for key, value in result.values.items():
        print(f"  {key} = {value:.6g} (start {start[key]:.6g})")
    print(table.drop(columns=["source", "scenario"]).to_string(index=False))
    print(f"wrote {args.overlay} and {args.results}/")
    print("reproduce: python experiments/calibrate_indonesia.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
