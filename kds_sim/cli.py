"""The `kds-sim` command line."""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from kds_sim import __version__
from kds_sim.network import NetworkFileError
from kds_sim.scenario import ScenarioError, load_scenario

HEADLINE = ("relapse_90d", "relapse_180d", "relapse_365d", "relapse_horizon",
            "continuous_abstinence_365d", "lapses_per_person", "lapse_to_relapse_share",
            "use_prevalence_end", "capacity_end")


class UserError(Exception):
    """A mistake the user can fix; reported without a traceback."""


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


def _overrides(args) -> dict:
    return dict(parse_override(item) for item in (args.set or []))


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replicates", type=int, metavar="N", help="replicates per scenario "
                        "(default: the scenario's run.replicates)")
    parser.add_argument("--seed", type=int, metavar="S",
                        help="root seed (default: the scenario's run.seed)")
    parser.add_argument("--horizon", type=int, metavar="DAYS", help="days of follow-up "
                        "(default: the scenario's run.horizon_days)")
    parser.add_argument("--workers", type=int, default=1, metavar="K",
                        help="worker processes; results are identical for any K (default 1)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a scenario key, e.g. --set group.coverage=0.8 "
                             "(repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument("--no-resume", action="store_true",
                        help="ignore replicates finished by an earlier, interrupted run")


def cmd_run(args) -> int:
    from kds_sim import report, runner

    scenario = load_scenario(args.scenario, _overrides(args))
    out = Path(args.out or Path("results") / scenario.name)
    result = runner.run(scenario, replicates=args.replicates, seed=args.seed,
                        horizon=args.horizon, workers=args.workers,
                        progress=not args.no_progress,
                        cache_dir=None if args.no_resume else out / ".replicates")
    written = result.save(out)
    print(f"{scenario.name}: {result.replicates} replicates of {result.cohort_size} "
          f"people, {result.horizon} days, seed {result.seed}")
    print(report.format_summary(result.summary(), HEADLINE))
    print(f"wrote {len(written)} files to {out}/")
    return 0


def cmd_params(args) -> int:
    from kds_sim import docs

    text = docs.scenario_template() if args.format == "toml" else docs.parameter_table()
    if args.out:
        from kds_sim.storage import write_text

        write_text(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kds-sim",
        description="Relapse after drug rehabilitation in peer networks, and what peer support "
                    "groups (KDS) and their capacity building do about it.",
        epilog="Start with: kds-sim compare scenarios/no_group.toml "
               "scenarios/group_as_assessed.toml scenarios/capacity_building.toml")
    parser.add_argument("--version", action="version", version=f"kds-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one scenario's replicates and write its outputs",
                         description="Run a scenario's replicates; print headline metrics with "
                                     "95 % CIs; write tables (CSV, Parquet), summary.json and "
                                     "figures. An interrupted run resumes where it stopped.")
    run.add_argument("scenario", help="scenario file (TOML)")
    run.add_argument("--out", metavar="DIR", help="output folder (default results/NAME)")
    _add_run_options(run)
    run.set_defaults(func=cmd_run)

    params = sub.add_parser("params", help="print the parameter table or a scenario template",
                            description="Every parameter with its unit, default and source.")
    params.add_argument("--format", choices=("markdown", "toml"), default="markdown")
    params.add_argument("--out", metavar="FILE", help="write to FILE instead of the terminal")
    params.set_defaults(func=cmd_params)

    from kds_sim import calibration, comparison

    comparison.add_command(sub, _add_run_options)
    calibration.add_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ScenarioError, NetworkFileError, UserError) as err:
        print(f"kds-sim: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kds-sim: interrupted; finished replicates are kept and a rerun resumes from them",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
