"""`kds-sim params`: the parameter table, the metric table, or a scenario template."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def handle(args: argparse.Namespace) -> int:
    from kds_sim.report import reference

    if args.metrics:
        text = reference.metric_table()
    elif args.priors:
        from kds_sim.io.scenario_files import load_scenario

        text = reference.prior_table(load_scenario(args.priors), args.priors)
    elif args.format == "toml":
        text = reference.scenario_template()
    else:
        text = reference.parameter_table()
    if args.out:
        from kds_sim.io.storage import write_text

        write_text(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        "params",
        help="print the parameter table or a scenario template",
        description="Every parameter with its unit, default, source and prior "
        "(markdown), the priors of one scenario (--priors), every parameter as a scenario template "
        "(--format toml), or every metric (--metrics).",
    )
    parser.add_argument("--format", choices=("markdown", "toml"), default="markdown")
    parser.add_argument(
        "--metrics", action="store_true", help="the metric registry instead of the parameters"
    )
    parser.add_argument(
        "--priors",
        metavar="SCENARIO",
        help="every numeric parameter of SCENARIO with its value and prior there",
    )
    parser.add_argument("--out", metavar="FILE", help="write to FILE instead of the terminal")
    parser.set_defaults(func=handle)
