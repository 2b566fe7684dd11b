"""`kds-sim compare`: scenarios on common random numbers against a reference (the policy table)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kds_sim.cli.common import (
    UserError,
    add_run_options,
    add_uncertainty_options,
    as_flags,
    check_backend,
    file_backend,
    overrides,
    terminal_table,
    uncertainty_source,
    warn_few_replicates,
    workers,
)
from kds_sim.errors import KdsSimError
from kds_sim.messages import LANGS


def handle(args: argparse.Namespace) -> int:

    from kds_sim.analysis import metrics, runner
    from kds_sim.analysis.comparison import compare
    from kds_sim.io.output_folder import OutputFolder
    from kds_sim.io.scenario_files import load_scenario
    from kds_sim.report.comparison_report import report_name, write_comparison
    from kds_sim.report.pdf import MISSING, find_chromium

    file_backend()
    check_backend(args)
    if args.pdf and find_chromium() is None:  # say so before minutes of computing
        raise UserError(MISSING)
    changes = overrides(args)
    scenarios = [load_scenario(path, changes) for path in args.scenarios]
    named = [s for s in scenarios if s.name == args.reference]
    horizon = args.horizon or (named or scenarios)[0].run.horizon_days
    if args.uncertainty and horizon < 365:  # said before any simulation, not after
        raise UserError(
            f"--uncertainty with --horizon {horizon}: the comparison reports relapses averted "
            "by 12 months; allowed: a horizon of at least 365 days"
        )
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
            f"{ref.cohort_size} people, {ref.horizon} days, seed {ref.seed},\n"
            f"common random numbers; reference: {result.reference}"
        )
        shown = metrics.COMPARE_HEADLINE + (
            ("relapse_horizon", "averted_per_100_horizon") if ref.horizon != 365 else ()
        )
        print(terminal_table(result.wide(shown)))
        warn_few_replicates(ref.replicates)
        files = {s.name: str(path) for s, path in zip(scenarios, args.scenarios, strict=True)}
        try:
            uncertain = _uncertainty(args, result, out) if args.uncertainty else None
        except KdsSimError as err:
            raise as_flags(err) from None
        write_comparison(
            result,
            folder.staging,
            langs=(args.lang,),
            files=files,
            uncertainty=uncertain,
            at_least=args.at_least,
            overrides=changes,
        )
        problem = _print_pdf(folder.staging / report_name(args.lang)) if args.pdf else None
        keys = [runner.cache_key(r.scenario, r.seed) for r in result.results.values()]
        written = folder.commit(ref.seed, "-".join(keys), {"scenarios": list(result.results)})
    print(f"wrote {len(written)} files to {out}/ (open {out / report_name(args.lang)})")
    if problem:
        print(f"kds-sim: error: no PDF: {problem}", file=sys.stderr)
        return 1
    return 0


def _print_pdf(page: Path) -> str | None:
    """Print the brief to PDF beside it; the reason when that fails (the HTML stands)."""
    from kds_sim.report.pdf import PdfError, write_pdf

    try:
        write_pdf(page, page.with_suffix(".pdf"))
    except PdfError as err:
        return str(err)
    return None


def _uncertainty(args: argparse.Namespace, result: Any, out: Path) -> Any:
    """Every scenario again at D shared parameter draws, R replicates each."""

    from kds_sim.analysis.uncertainty import run_uncertainty
    from kds_sim.report.uncertainty_report import headline

    scenarios = [r.scenario for r in result.results.values()]
    ref = result.results[result.reference].scenario
    uncertain = run_uncertainty(
        scenarios,
        reference=result.reference,
        source=uncertainty_source(args.uncertainty, ref.uncertainty.posterior),
        draws=args.draws,
        replicates=args.draw_replicates or args.replicates or 20,
        seed=args.seed,
        workers=workers(args),
        progress=not args.no_progress,
        cache_dir=None if args.no_resume else out / ".draws",
        scheduler=args.scheduler,
        dask_local=args.dask_local,
    )
    t = uncertain.timing
    print(
        f"uncertainty: {uncertain.draws} draws ({uncertain.plan.source}) x "
        f"{uncertain.replicates} replicates x {len(scenarios)} scenarios in "
        f"{t['seconds']:.0f} s on {t['executor']}"
    )
    table = headline(uncertain, args.at_least)
    print("relapses averted per 100 at 12 months: mean, 95 % uncertainty interval (UI),")
    print("Monte Carlo CI of the mean (precision only), probability best:")
    print(terminal_table(table, index=False))
    return uncertain


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
    parser.add_argument(
        "--lang",
        choices=LANGS,
        default="en",
        help="language of the brief: en (report.html) or id, Bahasa Indonesia (report_id.html)",
    )
    parser.add_argument(
        "--pdf",
        action="store_true",
        help="also print the brief to PDF (report.pdf) through headless Chromium (Debian's "
        "chromium, or KDS_SIM_CHROMIUM)",
    )
    add_run_options(parser)
    add_uncertainty_options(parser)
    parser.set_defaults(func=handle)
