"""`kds-sim calibrate`: fit free parameters to target figures; write an `extends` overlay
(`--method optimise`), or infer their posterior by ABC-SMC (`--method abc`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kds_sim.cli.common import UserError, positive_int

ABC_DEFAULT_REPLICATES = 4  # kds_sim.analysis.abc.ABC_REPLICATES (not imported: --help stays fast)

ABC_ONLY = ("population", "generations", "max_simulations", "seed", "dask_local", "scheduler",
            "predictive_draws", "keep_db")  # fmt: skip
OPTIMISE_ONLY = ("max_evaluations", "check_replicates")


def handle(args: argparse.Namespace) -> int:
    from kds_sim.cli.common import as_flags
    from kds_sim.errors import KdsSimError

    try:
        return _handle(args)
    except UserError:
        raise
    except KdsSimError as err:  # library messages name parameters; show the flags
        raise as_flags(err) from None


def _handle(args: argparse.Namespace) -> int:
    given = OPTIMISE_ONLY if args.method == "abc" else ABC_ONLY
    wrong = [name for name in given if getattr(args, name) not in (None, False)]
    if args.method == "optimise" and args.workers is not None:
        wrong.append("workers")
    if wrong:
        options = ", ".join("--" + name.replace("_", "-") for name in wrong)
        other = "optimise" if args.method == "abc" else "abc"
        raise UserError(f"{options}: only for --method {other} (this is --method {args.method})")
    if args.method == "abc":
        return handle_abc(args)
    import pandas as pd

    from kds_sim.analysis.calibration import (
        calibrate,
        load_targets,
        overlay_text,
        overlay_uncertainty,
        parse_free,
    )
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
    storage.write_text(out, overlay_text(result, targets, overlay_uncertainty(out)))
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


def handle_abc(args: argparse.Namespace) -> int:
    """ABC-SMC: a posterior ensemble and its diagnostics in --out (default results/)."""
    import logging

    from kds_sim.analysis import abc
    from kds_sim.analysis.calibration import load_targets
    from kds_sim.cli.common import file_backend

    try:
        abc.require_pyabc()
    except ImportError as err:
        raise UserError(str(err)) from None
    file_backend()
    targets = load_targets(args.targets, default_scenario=args.scenario)
    priors = abc.select_priors(targets, args.free)
    spec = targets.spec.settings
    settings = abc.AbcSettings(
        population=args.population or abc.AbcSettings.population,
        generations=args.generations or abc.AbcSettings.generations,
        max_simulations=args.max_simulations,
        replicates=args.replicates or abc.ABC_REPLICATES,
        seed=spec.seed if args.seed is None else args.seed,
        population_size=spec.population_size,
        workers=args.workers or 1,
        dask_local=args.dask_local,
        scheduler=args.scheduler,
        predictive_draws=args.predictive_draws or abc.AbcSettings.predictive_draws,
    )
    try:
        settings.check()
    except Exception as err:
        raise UserError(str(err)) from None
    out = Path(args.out or "results")
    if out.suffix == ".toml":
        raise UserError(f"--out {out}: with --method abc, --out is a folder (default results)")
    stem = targets.path.stem
    logging.getLogger("ABC").setLevel(logging.WARNING if args.no_progress else logging.INFO)
    print(
        f"ABC-SMC: {len(priors)} parameters, {settings.population} particles, at most "
        f"{settings.generations} generations, {settings.replicates} replicates per particle; "
        f"{settings.sampler}"
    )
    db = abc.working_db(out, stem)
    try:
        result = abc.calibrate_abc(targets, priors, settings, db, progress=not args.no_progress)
    except BaseException:
        db.unlink(missing_ok=True)
        raise
    kept = abc.finish_db(db, out, stem, keep=args.keep_db)
    predictive, per_draw = abc.predictive_check(
        result, workers=settings.workers if not settings.dask_local else settings.dask_local,
        progress=not args.no_progress,
    )  # fmt: skip
    from kds_sim.report.abc_report import write_abc

    written = write_abc(result, predictive, per_draw, out, stem, db=kept)
    _print_abc(result, predictive)
    print(f"wrote {len(written)} files to {out} (posterior: {written[0]})")
    print(
        'to draw from it: add `[uncertainty]` `posterior = "PATH"` (relative to the '
        "scenario file) to a file your scenarios extend, then `--uncertainty posterior`"
    )
    return 0


def _print_abc(result: Any, predictive: Any) -> None:
    import pandas as pd

    print(
        f"{len(result.generations)} generations, {result.simulations} simulations, "
        f"{result.wall_seconds:.0f} s; final epsilon {result.epsilon:.3g}, ESS {result.ess:.0f}"
        + ("" if result.converged else " (stopped before the epsilon floor)")
    )
    ident = result.identification()
    shown = ["parameter", "posterior_mean", "ci_low", "ci_high", "sd_ratio", "reading"]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(ident[shown].head(8).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print("posterior predictive check:")
        cols = ["target", "role", "value", "bound_low", "bound_high", "predictive_mean",
                "predictive_low", "predictive_high", "inside"]  # fmt: skip
        print(predictive[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        "calibrate",
        help="fit free parameters to target figures (an extends overlay, or an ABC posterior)",
        description="--method optimise (default): fit the free parameters so that simulated "
        "outcomes match the targets (bounded Nelder-Mead on common random numbers), then check "
        "the fit with fresh seeds; writes a calibrated overlay that scenarios can `extends`, "
        "and tables of the fit and of every evaluation. --method abc: Bayesian calibration by "
        "ABC-SMC (pyabc): every parameter with a prior (or those --free names) is inferred from "
        "the fit targets, each within its tolerance; writes OUT/STEM_posterior.parquet "
        "(parameter sets with weights, for uncertainty.posterior) and diagnostics "
        "(docs/calibration.md).",
        epilog="Example: kds-sim calibrate --method abc --targets "
        "scenarios/targets/indonesia_2015.toml --population 200 --out results/abc",
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
        help="parameters to fit (optimise, default: the targets file's [free] table; abc, "
        "default: every parameter with a prior the fit targets can inform; =LOW:HIGH gives a "
        "uniform prior)",
    )
    parser.add_argument(
        "--method",
        choices=("optimise", "abc"),
        default="optimise",
        help="optimise: a point fit (default); abc: a posterior by ABC-SMC (pip install "
        "'kds-sim[abc]')",
    )
    parser.add_argument(
        "--out",
        metavar="PATH",
        help="optimise: overlay to write (default results/calibrated.toml); abc: folder of the "
        "posterior and diagnostics (default results)",
    )
    parser.add_argument("--max-evaluations", type=int, metavar="N", help="optimise only")
    parser.add_argument(
        "--replicates",
        type=positive_int,
        metavar="N",
        help="replicates per evaluation (optimise: default from the targets file) or per "
        f"particle (abc: default {ABC_DEFAULT_REPLICATES})",
    )
    parser.add_argument("--check-replicates", type=int, metavar="N", help="optimise only")
    abc_options = parser.add_argument_group("ABC-SMC (--method abc)")
    abc_options.add_argument(
        "--population", type=positive_int, metavar="N", help="particles per generation (100)"
    )
    abc_options.add_argument(
        "--generations", type=positive_int, metavar="G", help="at most G generations (8)"
    )
    abc_options.add_argument(
        "--max-simulations", type=positive_int, metavar="N", help="stop after N simulations"
    )
    abc_options.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="root seed (default: the targets file's settings.seed); exactly reproducible "
        "with one worker only",
    )
    abc_options.add_argument(
        "--workers", type=positive_int, metavar="K", help="local worker processes (default 1)"
    )
    where = abc_options.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="sample on a running Dask scheduler, e.g. tcp://10.0.0.5:8786",
    )
    where.add_argument(
        "--dask-local", type=positive_int, metavar="N", help="start a local Dask cluster of N"
    )
    abc_options.add_argument(
        "--predictive-draws",
        type=positive_int,
        metavar="N",
        help="posterior draws of the predictive check (40)",
    )
    abc_options.add_argument(
        "--keep-db",
        action="store_true",
        help="keep pyabc's history as OUT/STEM_abc.db (default: deleted)",
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=handle)
