"""`kds-sim analyse`: sensitivity indices, response surfaces and PRIM boxes of a sweep store."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from kds_sim.cli.common import UserError, file_backend

_RULE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*([<>])\s*(-?[0-9.eE+-]+)\s*$")


def parse_rule(text: str) -> tuple[str, float, bool]:
    """'averted_per_100_365d<3' -> (outcome, threshold, below)."""
    match = _RULE.match(text)
    if not match:
        raise UserError(f"--prim {text!r}: expected OUTCOME<VALUE or OUTCOME>VALUE")
    return match.group(1), float(match.group(3)), match.group(2) == "<"


def handle(args: argparse.Namespace) -> int:
    try:
        from kds_sim.analysis.sweep import StoreError, open_store
        from kds_sim.report.sweep_report import write_analysis
    except ImportError as err:
        raise UserError(f"{err}; install the extra: pip install 'kds-sim[sweep]'") from None
    file_backend()
    try:
        result = open_store(args.store)
    except StoreError as err:
        raise UserError(str(err)) from None
    names = list(result.experiment.all_paths())
    if args.strategy is not None and args.strategy not in names:
        raise UserError(f"--strategy {args.strategy!r}: allowed: one of {', '.join(names)}")
    if not result.complete:
        method = result.experiment.design.method
        if method in ("sobol", "morris"):
            raise UserError(
                f"{args.store}: the sweep is incomplete ({len(result.results)} of "
                f"{result.experiment.replicates * len(names) * len(result.points)} runs); "
                f"{method} indices need every point: finish it with kds-sim sweep "
                f"{result.experiment.source} --out {args.store} --resume"
            )
        print("note: the sweep is incomplete; finish it with kds-sim sweep ... --resume")
    rule = parse_rule(args.prim) if args.prim else None
    out = Path(args.out) if args.out else Path(args.store) / "analysis"
    try:
        written = write_analysis(result, out, rule, args.strategy)
    except (KeyError, ValueError) as err:
        raise UserError(str(err)) from None
    print(result.summary())
    print(f"wrote {len(written)} files to {out}/ (open {out / 'report.html'})")
    return 0


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        "analyse",
        help="Sobol/Morris indices, response surfaces and PRIM boxes of a sweep",
        description="Analyse a sweep store: Sobol first-order and total indices with "
        "bootstrap CIs (sobol designs), Morris mu*/sigma (morris), response-surface heatmaps "
        "with replicate CIs (grids), and PRIM scenario discovery for a threshold rule. "
        "Writes tidy CSV + Parquet, figures and report.html.",
        epilog="Example: kds-sim analyse results/smoke --prim 'averted_per_100_90d<3'",
    )
    parser.add_argument("store", metavar="STORE", help="folder given to kds-sim sweep --out")
    parser.add_argument("--out", metavar="DIR", help="output folder (default STORE/analysis)")
    parser.add_argument(
        "--prim",
        metavar="RULE",
        help="scenario discovery rule, e.g. 'averted_per_100_365d<3' (default: the "
        "experiment's [discovery])",
    )
    parser.add_argument(
        "--strategy", metavar="NAME", help="strategy to analyse (default: the first)"
    )
    parser.set_defaults(func=handle)
