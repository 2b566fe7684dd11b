"""`kds-sim calibrate`: fit free parameters to target figures; write an `extends` overlay."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def handle(args: argparse.Namespace) -> int:
    import pandas as pd

    from kds_sim.analysis.calibration import calibrate, load_targets, overlay_text, parse_free
    from kds_sim.io import storage

    targets = load_targets(args.targets, default_scenario=args.scenario)
    free = parse_free(args.free, targets)
    result = calibrate(
        targets,
        free,
        progress=not args.no_progress,
        max_evaluations=args.max_evaluations,
        replicates=args.replicates,
        check_replicates=args.check_replicates,
    )
    out = Path(args.out or Path("results") / "calibrated.toml")
    storage.write_text(out, overlay_text(result, targets))
    storage.write_table(out.with_name(out.stem + "_fit"), result.table())
    storage.write_table(out.with_name(out.stem + "_history"), result.history)
    print(f"fitted after {result.evaluations} evaluations:")
    for key, value in result.values.items():
        print(f"  {key} = {value:.6g}   (start {result.start[key]:.6g}, bounds {free[key]})")
    print("final check with fresh seeds:")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(result.table().drop(columns=["source", "scenario"]).to_string(index=False))
    print(f"wrote {out} (use it with `extends`)")
    return 0


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        "calibrate",
        help="fit free parameters to target figures; write an extends overlay",
        description="Fit the free parameters so that simulated outcomes match the targets "
        "(bounded Nelder-Mead on common random numbers), then check the fit with "
        "fresh seeds. Writes a calibrated overlay that scenarios can `extends`, "
        "and tables of the fit and of every evaluation.",
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        help="scenario the overlay is for (checked to "
        "load; the targets file names the scenarios that are run)",
    )
    parser.add_argument("--targets", required=True, metavar="TARGETS.toml")
    parser.add_argument(
        "--free",
        nargs="+",
        metavar="PARAM[=LOW:HIGH]",
        help="parameters to fit (default: the targets file's [free] table)",
    )
    parser.add_argument(
        "--out", metavar="FILE", help="overlay to write (default results/calibrated.toml)"
    )
    parser.add_argument("--max-evaluations", type=int, metavar="N")
    parser.add_argument(
        "--replicates",
        type=int,
        metavar="N",
        help="replicates per evaluation (default from the targets file)",
    )
    parser.add_argument("--check-replicates", type=int, metavar="N")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=handle)
