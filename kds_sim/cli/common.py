"""What the commands share: user errors, `--set` overrides, the run options, the plot backend."""

from __future__ import annotations

import argparse
import math
import os
import sys
import tomllib
import warnings
from typing import Any

from kds_sim.errors import KdsSimError


class UserError(KdsSimError):
    """A mistake in the command line itself (an option's value or combination)."""


PARAMETER_FLAGS = (
    ("resume=True", "--resume"),
    ("dask_local = ", "--dask-local "),
    ("scheduler = ", "--scheduler "),
    ("workers = ", "--workers "),
    ("draws = ", "--draws "),
    ("replicates = ", "--replicates "),
    ("reference = ", "--reference "),
    ("source = ", "--uncertainty "),
    ("free = ", "--free "),
    ("horizon = ", "--horizon "),
)
"""Library messages name parameters (`draws = 1`); the CLI shows its flags instead."""


def as_flags(err: KdsSimError) -> UserError:
    """The same message with the command line's flags in place of parameter names."""
    text = str(err)
    for parameter, flag in PARAMETER_FLAGS:
        text = text.replace(parameter, flag)
    return UserError(text)


def parse_override(text: str) -> tuple[str, object]:
    """KEY=VALUE with a TOML value (`group.coverage=0.8`, `run.engine="agent"`)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set {text!r}: expected KEY=VALUE, e.g. group.coverage=0.8")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip(), value


def positive_int(text: str) -> int:
    """--workers: at least one process."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be at least 1")
    return value


def finite_float(text: str) -> float:
    """--at-least: a number (nan and inf compare with nothing, so they would answer nothing)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: a finite number, e.g. 3")
    return value


def workers(args: argparse.Namespace) -> int:
    """--workers, capped at the CPU count (more processes only compete for the same cores)."""
    cpus = os.cpu_count() or 1
    if args.workers > cpus:
        print(f"kds-sim: note: --workers {args.workers} capped at {cpus} CPUs", file=sys.stderr)
        return cpus
    return int(args.workers)


def check_backend(args: argparse.Namespace) -> None:
    """Dask options only with --uncertainty, one of them, and a scheduler that answers: all
    checked before anything is created or computed."""
    scheduler, local = getattr(args, "scheduler", None), getattr(args, "dask_local", None)
    if scheduler is None and local is None:
        return
    if not getattr(args, "uncertainty", None):
        raise UserError("--scheduler and --dask-local run parameter draws: add --uncertainty")
    from kds_sim.analysis.backend import Backend

    try:
        Backend(1, scheduler, local).check()
    except KdsSimError as err:
        raise as_flags(err) from None


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    return dict(parse_override(item) for item in (args.set or []))


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--replicates",
        type=int,
        metavar="N",
        help="replicates per scenario (default: the scenario's run.replicates)",
    )
    parser.add_argument(
        "--seed", type=int, metavar="S", help="root seed (default: the scenario's run.seed)"
    )
    parser.add_argument(
        "--horizon",
        type=int,
        metavar="DAYS",
        help="days of follow-up (default: the scenario's run.horizon_days)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        metavar="K",
        help="worker processes; results are identical for any K (default 1)",
    )
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a scenario key, e.g. --set group.coverage=0.8 (repeatable)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument(
        "--no-resume",
        action="store_true",
        help="ignore replicates finished by an earlier, interrupted run",
    )


def add_uncertainty_options(
    parser: argparse.ArgumentParser, by_default: bool = False, draws: int = 200
) -> None:
    """The parameter-uncertainty options; `by_default` (compare): on unless --no-uncertainty,
    with `draws` draws by default."""
    lead = (
        "Every scenario also runs at D parameter draws shared by all scenarios, R replicates "
        "each; results are quoted with 95 % uncertainty intervals (--no-uncertainty: only the "
        "Monte Carlo CI at the point values)."
        if by_default
        else "With --uncertainty, every scenario also runs at D parameter draws shared by all "
        "scenarios, R replicates each (--draw-replicates, else --replicates); results get "
        "95 % uncertainty intervals beside the Monte Carlo CI."
    )
    group = parser.add_argument_group("parameter uncertainty (docs/uncertainty.md)", lead)
    group.add_argument(
        "--uncertainty",
        nargs="?",
        const="auto",
        default=DEFAULT if by_default else None,
        metavar="prior|posterior|FILE",
        help="draw parameters from their priors, from the reference scenario's "
        "uncertainty.posterior, or from a posterior FILE (Parquet) "
        "(alone: the posterior if the scenario names one, else the priors)",
    )
    if by_default:
        group.add_argument(
            "--no-uncertainty",
            dest="uncertainty",
            action="store_const",
            const=None,
            help="skip the parameter draws (fast; the brief then says its ranges are only "
            "the Monte Carlo precision at the point values)",
        )
    group.add_argument(
        "--draws",
        type=positive_int,
        default=draws,
        metavar="D",
        help=f"parameter draws (default {draws})",
    )
    group.add_argument(
        "--draw-replicates",
        type=positive_int,
        metavar="R",
        help="replicates per draw (default: compare 5; run --replicates, else 20); so the Monte "
        "Carlo comparison can use many replicates and each draw few",
    )
    group.add_argument(
        "--at-least",
        type=finite_float,
        default=3.0,
        metavar="X",
        help="report the probability of averting at least X relapses per 100 (default 3)",
    )
    group.add_argument(
        "--dask-local", type=positive_int, metavar="N", help="run draws on a local Dask cluster"
    )
    group.add_argument(
        "--scheduler", metavar="ADDRESS", help="run draws on a Dask scheduler (tcp://host:port)"
    )


DEFAULT = "default"
"""--uncertainty not given where draws are the default (compare): as `--uncertainty` alone,
except that a horizon too short for the draws' metrics skips them rather than fails."""


def uncertainty_source(choice: str, posterior: str | None) -> str:
    """--uncertainty alone: the posterior when the scenario names one, else the priors."""
    if choice in ("auto", DEFAULT):
        return "posterior" if posterior else "prior"
    return choice


def uncertainty_run(args: argparse.Namespace, posterior: str | None, out: Any) -> dict[str, Any]:
    """run_uncertainty's keywords that `run` and `compare` take from the same flags (draws,
    seed, backend, progress, and the resumable draw cache in OUT/.draws); each adds its own
    replicates per draw."""
    return {
        "source": uncertainty_source(args.uncertainty, posterior),
        "draws": args.draws,
        "seed": args.seed,
        "workers": workers(args),
        "progress": not args.no_progress,
        "cache_dir": None if args.no_resume else out / ".draws",
        "scheduler": args.scheduler,
        "dask_local": args.dask_local,
    }


def _one_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> str:
    return f"kds-sim: warning: {message}\n"


FEW_REPLICATES = 10
"""Below this many replicates a t-interval over replicates is too wide and too unsure to read."""


def warn_few_replicates(replicates: int) -> None:
    """Say so when the printed 95 % CIs rest on too few replicates to mean much."""
    if replicates < FEW_REPLICATES:
        print(
            f"kds-sim: warning: {replicates} replicates: the 95 % CIs (t-intervals over\n"
            f"replicates) are only a rough guide; use --replicates {FEW_REPLICATES} or more",
            file=sys.stderr,
        )


def terminal_table(table: Any, digits: int = 3, index: bool = True) -> str:
    """A DataFrame for a terminal: rounded, no `-0.000`, column blocks wrapped at 100."""
    import pandas as pd

    def cell(value: Any) -> Any:
        if isinstance(value, float):
            text = f"{value:.{digits}f}"
            return text[1:] if text.lstrip("-0.") == "" and text.startswith("-") else text
        return value

    shown = table.apply(lambda column: column.map(cell)) if len(table) else table
    with pd.option_context("display.max_columns", None, "display.max_colwidth", 60):
        return str(shown.to_string(line_width=100, index=index))


def file_backend() -> None:
    """Draw figures into files, never windows (the library leaves the backend alone); and,
    as every command calls this first, print warnings as one line without source code."""
    import matplotlib

    warnings.formatwarning = _one_line

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False  # a `$` in a label is a dollar sign
