"""`kds-sim run`: one scenario's replicates, their summary and outputs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kds_sim.cli.common import (
    add_run_options,
    add_uncertainty_options,
    as_flags,
    check_backend,
    file_backend,
    overrides,
    terminal_table,
    uncertainty_run,
    warn_few_replicates,
    workers,
)
from kds_sim.errors import KdsSimError


def handle(args: argparse.Namespace) -> int:
    from kds_sim.analysis import metrics, runner
    from kds_sim.io.output_folder import OutputFolder, safe_name
    from kds_sim.io.scenario_files import load_scenario
    from kds_sim.report.run_report import format_summary, write_run

    file_backend()
    check_backend(args)
    scenario = load_scenario(args.scenario, overrides(args))
    out = Path(args.out) if args.out else Path("results") / safe_name(scenario.name)
    with OutputFolder(out) as folder:  # checked and locked before any computing
        result = runner.run(
            scenario,
            replicates=args.replicates,
            seed=args.seed,
            horizon=args.horizon,
            workers=workers(args),
            progress=not args.no_progress,
            cache_dir=None if args.no_resume else out / ".replicates",
        )
        write_run(result, folder.staging)
        if args.uncertainty:
            try:
                _with_uncertainty(args, result.scenario, folder.staging, out)
            except KdsSimError as err:
                raise as_flags(err) from None
        written = folder.commit(result.seed, runner.cache_key(result.scenario, result.seed))
    print(
        f"{scenario.name}: {result.replicates} replicates of {result.cohort_size} "
        f"people, {result.horizon} days, seed {result.seed}"
    )
    print(format_summary(result.summary(), metrics.RUN_HEADLINE))
    warn_few_replicates(result.replicates)
    print(f"wrote {len(written)} files to {out}/")
    return 0


def _with_uncertainty(args: argparse.Namespace, scenario: Any, staging: Path, out: Path) -> None:
    """The scenario at D parameter draws: each headline metric's mean, 95 % uncertainty
    interval and Monte Carlo CI, and a fan chart."""

    from kds_sim.analysis.uncertainty import run_uncertainty
    from kds_sim.report.uncertainty_report import write_uncertainty

    uncertain = run_uncertainty(
        [scenario],
        replicates=args.draw_replicates or args.replicates or 20,
        **uncertainty_run(args, scenario.uncertainty.posterior, out),
    )
    write_uncertainty(uncertain, staging)
    table = uncertain.summary()[["metric", "mean", "ui_low", "ui_high", "mc_ci_low", "mc_ci_high"]]
    print(
        f"uncertainty: {uncertain.draws} draws ({uncertain.plan.source}) x "
        f"{uncertain.replicates} replicates; 95 % uncertainty interval (ui) and, "
        "separately, the Monte Carlo CI of the mean (precision only):"
    )
    print(terminal_table(table, digits=4, index=False))


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        "run",
        help="run one scenario's replicates and write its outputs",
        description="Run a scenario's replicates; print headline metrics "
        "with 95 % CIs; write tables (CSV, Parquet), "
        "summary.json and figures. An interrupted run resumes "
        "where it stopped.",
    )
    parser.add_argument("scenario", help="scenario file (TOML)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default results/NAME)")
    add_run_options(parser)
    add_uncertainty_options(parser)
    parser.set_defaults(func=handle)
