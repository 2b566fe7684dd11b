"""Compare every shipped scenario on common random numbers, then follow four of them for 5 years.

1. All scenarios/*.toml except base.toml, against no_group, over each scenario's horizon
   (365 days): no group, the group as assessed, each capacity-building activity alone, the
   full model, the full model with mentoring, and with targeted recruitment.
2. no_group, group_as_assessed, capacity_building and capacity_building_mentoring over
   5 years (1825 days), written to <out>/five_years: capacity erodes without mentoring.

Each comparison also runs at parameter draws from the shipped posterior (priors for the rest;
200 draws x 10 replicates, and 100 x 5 for the five-year runs, which are five times longer), so
the briefs quote 95 % uncertainty intervals beside the Monte Carlo CIs. Each is written with
kds_sim.save (comparison.csv/.parquet with ui_low/ui_high, survival, forest and capacity
figures, the uncertainty tables and figures, the brief in English and Bahasa Indonesia,
report.html and report_id.html, per-scenario summary and daily tables).

    python experiments/compare_interventions.py                  # 100 replicates, 2 workers
    python experiments/compare_interventions.py --replicates 5 --draws 0 --five-year-draws 0
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import pandas as pd

import kds_sim

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
DEFAULT_OUT = ROOT / "experiments" / "results" / "compare_interventions"

ORDER = (
    "no_group",
    "group_as_assessed",
    "work_plan",
    "relapse_prevention_training",
    "group_management_training",
    "networking_training",
    "capacity_building",
    "capacity_building_mentoring",
    "capacity_building_recruitment",
)
FIVE_YEARS = ("no_group", "group_as_assessed", "capacity_building", "capacity_building_mentoring")
FIVE_YEAR_HORIZON = 1825
REFERENCE = "no_group"
LANGS = ("en", "id")
"""The brief in English (report.html) and Bahasa Indonesia (report_id.html)."""
NOT_COMPARED = ("base", "district")
"""base.toml lists defaults; district.toml is the open population of the observation model."""

TABLE = (
    "relapse_180d",
    "relapse_365d",
    "averted_per_100_365d",
    "nnt_365d",
    "abstinence_rr_365d",
    "abstinence_rr_365d_members",
    "capacity_end",
)
TABLE_LONG = (
    "relapse_365d",
    "relapse_horizon",
    "averted_per_100_365d",
    "averted_per_100_horizon",
    "nnt_horizon",
    "capacity_end",
)


def scenario_files() -> list[Path]:
    """Every shipped intervention scenario: the known ones in ORDER, any others after."""
    found = {p.stem: p for p in sorted(SCENARIOS.glob("*.toml")) if p.stem not in NOT_COMPARED}
    missing = [name for name in ORDER if name not in found]
    if missing:
        sys.exit(
            f"compare_interventions: missing scenario files in {SCENARIOS}: {', '.join(missing)}"
        )
    return [found[n] for n in ORDER] + [p for n, p in found.items() if n not in ORDER]


def shown_files(paths: list[Path]) -> dict[str, str]:
    """Scenario name -> its file as the brief shows it, relative to the repository."""
    return {p.stem: str(p.relative_to(ROOT)) for p in paths}


def capacity_by_year(result, years: int) -> pd.DataFrame:
    """Mean PEKA capacity at the start and each anniversary, and the share of replicates
    whose group still meets, for the scenarios with a group."""
    rows = []
    for name, run in result.results.items():
        if not run.scenario.group.enabled:
            continue
        by_day = run.daily.groupby("day")
        capacity, active = by_day["capacity_mean"].mean(), by_day["group_active"].mean()
        for year in range(years + 1):
            day = min(365 * year, run.horizon)
            rows.append(
                {
                    "scenario": name,
                    "year": year,
                    "day": day,
                    "capacity_mean": capacity.loc[day],
                    "group_meeting_share": active.loc[day],
                }
            )
    return pd.DataFrame(rows)


def uncertainty(
    result, draws: int, replicates: int, args: argparse.Namespace, draw_cache: Path | None
):
    """The compared strategies (as run: horizon applied) at `draws` parameter draws from the
    shipped posterior (and priors elsewhere): the 95 % uncertainty intervals the briefs quote.
    None with --draws 0."""
    if draws == 0:
        return None
    from kds_sim.analysis.uncertainty import run_uncertainty

    scenarios = [run.scenario for run in result.results.values()]
    started = time.perf_counter()
    uncertain = run_uncertainty(
        scenarios,
        reference=REFERENCE,
        source="posterior",
        draws=draws,
        replicates=replicates,
        seed=args.seed,
        workers=args.workers,
        progress=not args.no_progress,
        cache_dir=draw_cache,
    )
    runs = draws * replicates * len(scenarios)
    print(
        f"uncertainty: {draws} posterior draws x {replicates} replicates x {len(scenarios)} "
        f"scenarios = {runs} runs in {time.perf_counter() - started:.0f} s"
    )
    return uncertain


def show(title: str, table: pd.DataFrame) -> None:
    print(f"\n{title}")
    with pd.option_context(
        "display.width", 250, "display.max_columns", 30, "display.max_colwidth", 40
    ):
        print(table.to_string())


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Compare every shipped scenario (reference no_group) on common random "
        "numbers, then no_group, group_as_assessed, capacity_building and "
        "capacity_building_mentoring over 5 years; write tables, figures and "
        "report.html for each comparison."
    )
    parser.add_argument(
        "--replicates", type=int, default=100, help="replicates per scenario (default 100)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes; results are identical for any number (default 2)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="root seed (default: the scenarios' run.seed)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output folder (default experiments/results/"
        "compare_interventions); the 5-year comparison goes to "
        "OUT/five_years",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="keep finished replicates here so an interrupted run resumes (default: no cache)",
    )
    parser.add_argument(
        "--draws",
        type=int,
        default=200,
        help="parameter draws for the 95 %% uncertainty intervals (default 200; 0: none)",
    )
    parser.add_argument(
        "--draw-replicates", type=int, default=10, help="replicates per draw (default 10)"
    )
    parser.add_argument(
        "--five-year-draws",
        type=int,
        default=100,
        help="draws for the five-year comparison, whose runs are five times longer (default 100)",
    )
    parser.add_argument(
        "--five-year-draw-replicates", type=int, default=5, help="replicates per draw (default 5)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    if args.replicates < 2:
        parser.error("--replicates must be at least 2 (confidence intervals need two)")

    from kds_sim.analysis.comparison import compare
    from kds_sim.io.scenario_files import load_scenario

    files = scenario_files()
    options = {
        "replicates": args.replicates,
        "seed": args.seed,
        "workers": args.workers,
        "progress": not args.no_progress,
    }
    started = time.perf_counter()

    # 1. every shipped scenario over its own horizon (12 months) -----------------------------
    scenarios = [load_scenario(p) for p in files]
    cache = args.cache_dir / "all" if args.cache_dir else None
    result = compare(scenarios, reference=REFERENCE, cache_dir=cache, **options)
    ref = result.results[REFERENCE]
    show(
        f"All scenarios: {ref.replicates} replicates x {ref.scenario.population.size} "
        f"people, {ref.horizon} days, seed {ref.seed}, common random numbers; reference "
        f"{REFERENCE}. Cells: mean [95 % CI].",
        result.wide(TABLE),
    )
    uncertain = uncertainty(
        result, args.draws, args.draw_replicates, args, args.out / ".draws" if cache else None
    )
    written = kds_sim.save(
        result, args.out, langs=LANGS, files=shown_files(files), uncertainty=uncertain
    )
    print(f"wrote {len(written)} files to {display_path(args.out)}/")

    # 2. five years: erosion without mentoring -------------------------------------------------
    long_files = [p for p in files if p.stem in FIVE_YEARS]
    scenarios = [load_scenario(p) for p in long_files]
    cache = args.cache_dir / "five_years" if args.cache_dir else None
    long = compare(
        scenarios, reference=REFERENCE, horizon=FIVE_YEAR_HORIZON, cache_dir=cache, **options
    )
    show(
        f"Five years: {long.horizon} days, same seeds and replicates. Cells: mean [95 % CI].",
        long.wide(TABLE_LONG),
    )
    years = capacity_by_year(long, FIVE_YEAR_HORIZON // 365)
    by_year = years.pivot(index="scenario", columns="year", values="capacity_mean")
    by_year = by_year.rename(columns=lambda y: f"year {y}").round(3)
    by_year["still meeting at end"] = years.groupby("scenario")["group_meeting_share"].last()
    show(
        "Group capacity by year (mean PEKA score, 1-4; the group stops meeting below "
        "group.stop_threshold) and the share of replicates whose group still meets at the end",
        by_year.reindex([n for n in FIVE_YEARS if n in by_year.index]),
    )
    five = args.out / "five_years"
    uncertain = uncertainty(
        long,
        args.five_year_draws,
        args.five_year_draw_replicates,
        args,
        five / ".draws" if cache else None,
    )
    written = kds_sim.save(
        long, five, langs=LANGS, files=shown_files(long_files), uncertainty=uncertain
    )
    from kds_sim.io.storage import write_table

    written += write_table(five / "capacity_by_year", years)
    print(f"wrote {len(written)} files to {display_path(five)}/")

    minutes = (time.perf_counter() - started) / 60
    command = [
        "python",
        display_path(Path(__file__)),
        "--replicates",
        str(args.replicates),
        "--workers",
        str(args.workers),
        "--draws",
        str(args.draws),
        "--draw-replicates",
        str(args.draw_replicates),
        "--five-year-draws",
        str(args.five_year_draws),
        "--five-year-draw-replicates",
        str(args.five_year_draw_replicates),
    ]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    if args.out.resolve() != DEFAULT_OUT.resolve():
        command += ["--out", display_path(args.out)]
    print(f"\nfinished in {minutes:.1f} min. Reproduce (results do not depend on --workers):")
    print("  " + shlex.join(command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
