"""`kds-sim compare`: scenarios on common random numbers against a reference (the policy table)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kds_sim.cli.common import (
    DEFAULT,
    UserError,
    add_run_options,
    add_uncertainty_options,
    as_flags,
    check_backend,
    file_backend,
    finite_float,
    overrides,
    uncertainty_run,
    warn_few_replicates,
    workers,
)
from kds_sim.errors import KdsSimError
from kds_sim.messages import LANGS, t
from kds_sim.report.labels import scenario_label

DRAWS = 40
"""Default parameter draws of `compare`: with DRAW_REPLICATES, two strategies of 300 people take
about 36 s of CPU in all (the 100-replicate point comparison included; measured 2026-12-03 at
load average 8-9 on 2 shared cores, where the wall time was 3.4 min)."""
DRAW_REPLICATES = 5
"""Default replicates per draw: few per draw, many draws (the UI is over draws)."""


def handle(args: argparse.Namespace) -> int:

    from kds_sim.analysis import costs as cost_model
    from kds_sim.analysis import runner
    from kds_sim.analysis.comparison import compare, nested_pairs
    from kds_sim.io.output_folder import OutputFolder
    from kds_sim.io.scenario_files import load_scenario
    from kds_sim.report.comparison_report import report_name, write_comparison
    from kds_sim.report.decision import Decision
    from kds_sim.report.pdf import MISSING, find_chromium

    file_backend()
    check_backend(args)
    if args.pdf and find_chromium() is None:  # say so before minutes of computing
        raise UserError(MISSING)
    changes = overrides(args)
    try:
        district = cost_model.read_district(args.district) if args.district else None
        unit_costs = cost_model.read_costs(args.costs) if args.costs else None
    except KdsSimError as err:
        raise UserError(str(err)) from None
    if district is not None:
        unit_costs = unit_costs or district.costs
        changes.setdefault("group.coverage", district.coverage)  # the district's current KDS
    scenarios = [load_scenario(path, changes) for path in args.scenarios]
    if unit_costs is not None:
        scenarios = [unit_costs.applied(s) for s in scenarios]
    named = [s for s in scenarios if s.name == args.reference]
    horizon = args.horizon or (named or scenarios)[0].run.horizon_days
    if args.uncertainty == DEFAULT and horizon < 365:  # draws need 12 months: skip them
        print(t("cli.compare_short", args.lang, days=horizon))
        args.uncertainty = None
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
        lang = args.lang
        labels = {n: scenario_label(r.scenario, lang) for n, r in result.results.items()}
        print(
            t(
                "cli.compare_header",
                lang,
                count=len(scenarios),
                replicates=ref.replicates,
                people=ref.cohort_size,
                days=ref.horizon,
                reference=labels[result.reference],
            )
        )
        if not args.uncertainty:
            _print_point(result, labels, lang)
        warn_few_replicates(ref.replicates)
        files = {s.name: str(path) for s, path in zip(scenarios, args.scenarios, strict=True)}
        try:
            uncertain = _uncertainty(args, result, out, unit_costs) if args.uncertainty else None
        except KdsSimError as err:
            raise as_flags(err) from None
        decision = None
        if uncertain is not None:
            decision = Decision(
                uncertain,
                mid=args.mid,
                nested=nested_pairs([r.scenario for r in result.results.values()]),
                district=district,
                seed=uncertain.seed,
            )
            _print_pairs(decision, labels, lang)
        write_comparison(
            result,
            folder.staging,
            langs=(args.lang,),
            files=files,
            uncertainty=uncertain,
            at_least=args.at_least,
            overrides=changes,
            decision=decision,
        )
        problem = _print_pdf(folder.staging / report_name(args.lang)) if args.pdf else None
        keys = [runner.cache_key(r.scenario, r.seed) for r in result.results.values()]
        written = folder.commit(ref.seed, "-".join(keys), {"scenarios": list(result.results)})
    print(
        t(
            "cli.compare_wrote",
            args.lang,
            count=len(written),
            folder=f"{out}/",
            page=out / report_name(args.lang),
        )
    )
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


def _uncertainty(args: argparse.Namespace, result: Any, out: Path, unit_costs: Any) -> Any:
    """Every scenario again at D shared parameter draws, R replicates each."""

    from kds_sim.analysis.uncertainty import run_uncertainty
    from kds_sim.model.priors import effect_prior

    scenarios = [r.scenario for r in result.results.values()]
    ref = result.results[result.reference].scenario
    with effect_prior(args.effect_prior):
        uncertain = run_uncertainty(
            scenarios,
            reference=result.reference,
            replicates=args.draw_replicates or DRAW_REPLICATES,
            **uncertainty_run(args, ref.uncertainty.posterior, out),
        )
    if unit_costs is not None:
        uncertain.price(scenarios, unit_costs)
    timing = uncertain.timing
    print(
        t(
            "cli.compare_draws",
            args.lang,
            draws=uncertain.conditioning.get("draws", uncertain.draws),
            kept=uncertain.conditioning.get("kept", uncertain.draws),
            replicates=uncertain.replicates,
            count=len(scenarios),
            seconds=f"{timing['seconds']:.0f}",
        )
    )
    return uncertain


def _print_point(result: Any, labels: dict[str, str], lang: str) -> None:
    """Without draws: relapses averted per 100 with the Monte Carlo CI, said to be only that."""
    from kds_sim.report.labels import num
    from kds_sim.report.summary import headline_tag, tag_words

    table = result.table
    tag = headline_tag(result.horizon)
    print(t("cli.compare_point", lang, when=tag_words(tag, result.horizon, lang)))
    for name in result.results:
        if name == result.reference:
            continue
        row = table[(table["scenario"] == name) & (table["metric"] == f"averted_per_100_{tag}")]
        r = row.iloc[0]
        low, high = num(r["ci_low"], lang, 1), num(r["ci_high"], lang, 1)
        to = t("uncertainty.to", lang)
        print(f"  {labels[name]}: {num(r['mean'], lang, 1)} ({low} {to} {high})")


def _print_pairs(decision: Any, labels: dict[str, str], lang: str) -> None:
    """Relapses averted per 100 with 95 % uncertainty intervals, and every pair's difference."""
    from kds_sim.report.labels import num, percent

    u = decision.uncertainty
    to = t("uncertainty.to", lang)
    mid = num(decision.mid, lang, 0)
    print(t("cli.compare_averted", lang, mid=mid))
    for _, r in decision.pairs().iterrows():
        if r["versus"] != u.reference:
            continue
        print(
            f"  {labels[r['strategy']]}: {num(r['mean_difference'], lang, 1)} "
            f"({num(r['ui_low'], lang, 1)} {to} {num(r['ui_high'], lang, 1)}); "
            f"{percent(r['probability_at_least_mid'], lang, 0)}"
        )
    others = decision.pairs()
    others = others[others["versus"] != u.reference]
    if len(others):
        print(t("cli.compare_pairs", lang, mid=mid))
        for _, r in others.iterrows():
            print(
                f"  {labels[r['strategy']]} - {labels[r['versus']]}: "
                f"{num(r['mean_difference'], lang, 1)} ({num(r['ui_low'], lang, 1)} {to} "
                f"{num(r['ui_high'], lang, 1)}); {percent(r['probability_at_least_mid'], lang, 0)}"
            )


def add_command(sub: Any) -> None:
    parser = sub.add_parser(
        "compare",
        help="compare scenarios on common random numbers (the policy table)",
        description="Run scenarios on common random numbers and report, against a reference, "
        "relapse at 6 and 12 months, relapses averted per 100 people, number needed to treat, "
        "abstinence risk ratio and group capacity. By default every scenario also runs at "
        "shared parameter draws, so results carry 95 % uncertainty intervals and every pair of "
        "strategies its paired difference with P(difference >= --mid). Writes comparison.csv/"
        ".parquet, pairwise.csv, figures and report.html (page 1: key messages and a "
        "recommendation; with --district, people and rupiah per year).",
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
    add_uncertainty_options(parser, by_default=True, draws=DRAWS)
    decisions = parser.add_argument_group("decisions, costs and a district")
    decisions.add_argument(
        "--mid",
        type=finite_float,
        default=1.0,
        metavar="X",
        help="minimal important difference in relapses averted per 100 people: every pair of "
        "strategies reports P(difference >= X) (default 1)",
    )
    decisions.add_argument(
        "--effect-prior",
        choices=("lognormal", "uniform_0_3x"),
        default="lognormal",
        help="prior of the intervention effects: lognormal (median at the assumed value, 95 %% "
        "within x1/3 to x3; the default) or uniform_0_3x (the sensitivity analysis)",
    )
    decisions.add_argument(
        "--costs",
        metavar="FILE",
        help="unit costs with their priors (e.g. scenarios/costs/indonesia_2024.toml)",
    )
    decisions.add_argument(
        "--district",
        metavar="NAME|FILE",
        help="a district (people discharged a year, current KDS coverage, its costs): page 1 "
        "gives people and rupiah per year there; shipped: cimahi",
    )
    parser.set_defaults(func=handle)
