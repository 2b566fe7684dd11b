"""`kds-sim sweep`: run an experiment file (design points x replicates) into a resumable store."""

from __future__ import annotations

import argparse
from typing import Any

from kds_sim.cli.common import UserError, as_flags
from kds_sim.errors import KdsSimError


def handle(args: argparse.Namespace) -> int:
    try:
        from kds_sim.analysis.sweep import sweep
    except ImportError as err:  # SALib or Dask missing
        raise UserError(f"{err}; install the extra: pip install 'kds-sim[sweep]'") from None
    if args.workers < 1 or (args.dask_local is not None and args.dask_local < 1):
        raise UserError("--workers and --dask-local need a positive number")
    try:
        result = sweep(
            args.experiment,
            out=args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            dask_local=args.dask_local,
            resume=args.resume,
            progress=not args.no_progress,
        )
    except KdsSimError as err:
        raise as_flags(err) from None
    print(result.summary())
    print(f"next: kds-sim analyse {result.folder}")
    return 0


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        "sweep",
        help="run an experiment: many parameter values x replicates, resumable, local or Dask",
        description="Run the design points x replicates of an experiment file "
        "(experiments/designs/*.toml) on common random numbers: replicate i of every point "
        "shares its seed. Each finished batch is committed to OUT/sweep.sqlite (SQLite, WAL), "
        "so a killed sweep continues with --resume and loses or repeats nothing. Results are "
        "identical whatever runs them.",
        epilog="Example: kds-sim sweep experiments/designs/smoke.toml --out results/smoke",
    )
    parser.add_argument("experiment", metavar="EXPERIMENT.toml", help="experiment file")
    parser.add_argument("--out", metavar="DIR", help="store folder (default results/sweeps/NAME)")
    parser.add_argument(
        "--workers", type=int, default=1, metavar="K", help="local worker processes (default 1)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="send runs to a running Dask scheduler, e.g. tcp://10.0.0.5:8786",
    )
    where.add_argument(
        "--dask-local", type=int, metavar="N", help="start a local Dask cluster of N workers"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted sweep in the same store"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=handle)
