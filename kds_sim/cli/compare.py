"""`kds-sim compare`: scenarios on common random numbers against a reference (the policy table)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kds_sim.cli.common import add_run_options, file_backend, overrides, workers


def handle(args: argparse.Namespace) -> int:
    import pandas as pd

    from kds_sim.analysis import metrics, runner
    from kds_sim.analysis.comparison import compare
    from kds_sim.io.output_folder import OutputFolder
    from kds_sim.io.scenario_files import load_scenario
    from kds_sim.report.comparison_report import write_comparison

    file_backend()
    changes = overrides(args)
    scenarios = [load_scenario(path, changes) for path in args.scenarios]
    out = Path(args.out or Path("results") / "comparison")
    with OutputFolder(out) as folder:  # checked and locked before any computing
        result = compare(
            scenarios,
            reference=args.reference,
            replicates=args.replicates,
            seed=args.seed,
            horizon=args.horizon,
            workers=workers(args),
            progress=not args.no_progress,
            cache_dir=None if args.no_resume else out / ".replicates",
        )
        ref = result.results[result.reference]
        print(
            f"{len(scenarios)} scenarios x {ref.replicates} replicates of "
            f"{ref.cohort_size} people, {ref.horizon} days, seed {ref.seed}, "
            f"common random numbers; reference: {result.reference}"
        )
        shown = metrics.COMPARE_HEADLINE + (
            ("relapse_horizon", "averted_per_100_horizon") if ref.horizon != 365 else ()
        )
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(result.wide(shown).to_string())
        write_comparison(result, folder.staging)
        keys = [runner.cache_key(r.scenario, r.seed) for r in result.results.values()]
        written = folder.commit(ref.seed, "-".join(keys), {"scenarios": list(result.results)})
    print(f"wrote {len(written)} files to {out}/ (open {out / 'report.html'})")
    return 0


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        "compare",
        help="compare scenarios on common random numbers (the policy table)",
        description="Run scenarios on common random numbers and report, against a reference, "
        "relapse at 6 and 12 months, relapses averted per 100 people, number "
        "needed to treat, abstinence risk ratio and group capacity, each with a "
        "95 % CI. Writes comparison.csv/.parquet, figures and report.html.",
    )
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario files")
    parser.add_argument(
        "--reference", metavar="NAME", help="scenario to compare against (default: the first)"
    )
    parser.add_argument("--out", metavar="DIR", help="output folder (default results/comparison)")
    add_run_options(parser)
    parser.set_defaults(func=handle)
