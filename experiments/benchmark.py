"""Benchmark kds-sim: agent-steps per second, setup time and peak memory by cohort size.

Each (size, repeat) runs in a fresh Python subprocess, so one size's memory and caches cannot
contaminate the next, and peak memory is the child's own high-water mark (ru_maxrss).

What is measured, per run:
- setup: KDSModel(scenario, seed, agents=False), i.e. drawing the cohort, building the network
  and the group (for --engine agent the Mesa agents are always created, so setup includes them);
- run: model.run() over --days days (the daily rules, group, network exposure and the
  DataCollector); agent-steps per second = people x days / run wall seconds (and, as a check
  on a busy machine, per run CPU seconds of the process);
- agents=True cost (vector engine only): the time to create the Mesa agents, one per
  recovering person and one per using friend, which is exactly what agents=True adds to
  setup (timed after the run, on the same model, so it does not disturb the run timing);
- peak RSS of the child after setup + run (and again after creating the agents), and its RSS
  right after imports and a tiny warm-up model (the baseline).

Setup and run are timed after a 10-person, 1-day warm-up model in the same process, so lazy
imports and first-call costs are not counted.

The scenario has the peer group switched on, so the full daily rules run (group meetings,
dropout, skill transfer, erosion) on top of the relapse chain.

Examples:
    python experiments/benchmark.py
    python experiments/benchmark.py --sizes 300 --engine agent --repeats 1
    python experiments/benchmark.py --sizes 1000,10000 --repeats 5 --csv bench.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

TARGET_STEPS_PER_SECOND = 0.5e6  # from the issue: >= 0.5 M agent-steps/s at 10k people
TARGET_SIZE = 10_000


def _rss_mb() -> float:
    """This process's peak resident set size in MB (ru_maxrss is KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def scenario_for(size: int, days: int, engine: str):
    from kds_sim.model.scenario import Scenario

    return Scenario.model_validate(
        {
            "population": {"size": size},
            "run": {"horizon_days": days, "engine": engine},
            "group": {"enabled": True},
        }
    )


def _ensemble(scenario, seed: int, replicates: int):
    import numpy as np

    from kds_sim.model.ensemble import Ensemble

    seeds = [np.random.SeedSequence(seed, spawn_key=(i,)) for i in range(replicates)]
    return Ensemble([scenario] * replicates, seeds)


def worker(
    size: int, days: int, engine: str, seed: int, agents_cost: bool, replicates: int = 1
) -> dict:
    """One measurement in this (fresh) process; returns a JSON-able dict."""
    from kds_sim.model.kds_model import KDSModel

    model_engine = "vector" if engine == "ensemble" else engine
    if engine == "ensemble":
        _ensemble(scenario_for(10, 1, model_engine), seed, 2).run()  # warm up lazy imports
    else:
        KDSModel(scenario_for(10, 1, model_engine), seed).run()
    scenario = scenario_for(size, days, model_engine)
    baseline = _rss_mb()

    start = time.perf_counter()
    model = (
        _ensemble(scenario, seed, replicates) if engine == "ensemble" else KDSModel(scenario, seed)
    )
    setup = time.perf_counter() - start

    start, start_cpu = time.perf_counter(), time.process_time()
    model.run()
    run = time.perf_counter() - start
    run_cpu = time.process_time() - start_cpu
    peak = _rss_mb()
    assert model.day == days

    # KDSModel always creates its Mesa agents now, so setup includes them (no separate cost)
    agents = None
    return {
        "size": size,
        "replicates": replicates if engine == "ensemble" else 1,
        "days": days,
        "engine": engine,
        "seed": seed,
        "setup_s": setup,
        "run_s": run,
        "run_cpu_s": run_cpu,
        "agents_s": agents,
        "rss_baseline_mb": baseline,
        "rss_peak_mb": peak,
        "rss_peak_with_agents_mb": _rss_mb() if agents is not None else None,
    }


def measure(
    size: int, days: int, engine: str, seed: int, agents_cost: bool, replicates: int = 1
) -> dict:
    """Run `worker` in a fresh subprocess and return its measurement."""
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        "--sizes",
        str(size),
        "--days",
        str(days),
        "--engine",
        engine,
        "--seed",
        str(seed),
        "--replicates",
        str(replicates),
    ]
    if not agents_cost:
        command.append("--no-agents-cost")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark worker for size {size} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(rows: list[dict]) -> dict:
    """Median over repeats (and the best run) for one size."""
    first = rows[0]
    people_days = first["size"] * first["days"] * first["replicates"]
    run_s = statistics.median(r["run_s"] for r in rows)
    agents = [r["agents_s"] for r in rows if r["agents_s"] is not None]
    setup_s = statistics.median(r["setup_s"] for r in rows)
    return {
        "engine": first["engine"],
        "size": first["size"],
        "replicates": first["replicates"],
        "days": first["days"],
        "repeats": len(rows),
        "setup_s": setup_s,
        "run_s": run_s,
        "steps_per_s": people_days / run_s,
        "best_steps_per_s": max(people_days / r["run_s"] for r in rows),
        "cpu_steps_per_s": people_days / statistics.median(r["run_cpu_s"] for r in rows),
        "agents_s": statistics.median(agents) if agents else None,
        "rss_baseline_mb": statistics.median(r["rss_baseline_mb"] for r in rows),
        "rss_peak_mb": max(r["rss_peak_mb"] for r in rows),
        "rss_peak_with_agents_mb": (
            max(r["rss_peak_with_agents_mb"] for r in rows) if agents else None
        ),
    }


COLUMNS = (
    ("engine", "engine", "{}"),
    ("size", "people", "{:,}"),
    ("replicates", "batch", "{}"),
    ("days", "days", "{}"),
    ("repeats", "reps", "{}"),
    ("setup_s", "setup s", "{:.3f}"),
    ("run_s", "run s", "{:.3f}"),
    ("steps_per_s", "agent-steps/s", "{:,.0f}"),
    ("best_steps_per_s", "best steps/s", "{:,.0f}"),
    ("cpu_steps_per_s", "per CPU s", "{:,.0f}"),
    ("agents_s", "+agents s", "{:.3f}"),
    ("rss_baseline_mb", "RSS base MB", "{:.0f}"),
    ("rss_peak_mb", "RSS peak MB", "{:.0f}"),
    ("rss_peak_with_agents_mb", "peak+agents MB", "{:.0f}"),
)


def format_table(summaries: list[dict]) -> str:
    cells = [[title for _, title, _ in COLUMNS]]
    for s in summaries:
        cells.append([("-" if s[key] is None else fmt.format(s[key])) for key, _, fmt in COLUMNS])
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def environment() -> str:
    import mesa
    import numpy
    import scipy

    return (
        f"python {platform.python_version()}, numpy {numpy.__version__}, "
        f"scipy {scipy.__version__}, mesa {mesa.__version__}, {os.cpu_count()} CPUs, "
        f"{platform.machine()} {platform.system()}, load average {_load()}"
    )


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Agent-steps per second, setup time and peak memory of kds-sim by cohort "
        "size (peer group on, so the full daily rules run). Each size and repeat "
        "runs in a fresh subprocess.",
        epilog="agent-steps/s = people x days / wall seconds of model.run(), setup excluded "
        "('per CPU s' uses the run's CPU time instead: less sensitive to other load). "
        "Peak memory is the subprocess's ru_maxrss (imports included; 'RSS base' is "
        "the value right after imports). '+agents s' is the extra setup time of "
        "agents=True (creating the Mesa agents) and 'peak+agents MB' the peak after "
        "creating them; vector engine only.",
    )
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="comma-separated cohort sizes (default: %(default)s)",
    )
    parser.add_argument(
        "--days", type=int, default=365, help="days to simulate (default: %(default)s)"
    )
    parser.add_argument(
        "--engine",
        choices=("vector", "agent", "ensemble"),
        default="vector",
        help="'vector' (numpy, all people at once) or 'agent' (each Mesa agent "
        "in turn; slow, use small sizes) (default: %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="fresh subprocesses per size; the table shows medians and the "
        "best run (default: %(default)s)",
    )
    parser.add_argument(
        "--replicates",
        type=int,
        default=1,
        help="ensemble engine: replicates stepped together (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=1, help="model seed (default: %(default)s)")
    parser.add_argument(
        "--no-agents-cost",
        dest="agents_cost",
        action="store_false",
        help="skip timing the agents=True setup (vector engine)",
    )
    parser.add_argument("--csv", metavar="FILE", help="also write the table to this CSV file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if not args.size_list or min(args.size_list) < 2:
        parser.error("--sizes needs at least one size, each >= 2")
    if args.days < 1 or args.repeats < 1:
        parser.error("--days and --repeats must be >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(
            json.dumps(
                worker(
                    args.size_list[0],
                    args.days,
                    args.engine,
                    args.seed,
                    args.agents_cost,
                    args.replicates,
                )
            )
        )
        return

    print(f"kds-sim benchmark: {environment()}")
    print(
        f"engine={args.engine} days={args.days} repeats={args.repeats} seed={args.seed} "
        f"(group enabled, full rules)",
        flush=True,
    )
    summaries = []
    for size in args.size_list:
        if args.engine == "agent" and size * args.days > 2_000_000:
            print(
                f"note: the agent engine steps ~5k agent-steps/s; size {size:,} x "
                f"{args.days} days may take {size * args.days / 5e3 / 60:.0f} min per repeat",
                file=sys.stderr,
            )
        rows = [
            measure(size, args.days, args.engine, args.seed, args.agents_cost, args.replicates)
            for _ in range(args.repeats)
        ]
        summaries.append(summarise(rows))
        print(f"  measured {size:,} people", file=sys.stderr, flush=True)
    print()
    print(format_table(summaries))
    for s in summaries:
        if s["size"] == TARGET_SIZE:
            verdict = "meets" if s["steps_per_s"] >= TARGET_STEPS_PER_SECOND else "MISSES"
            print(
                f"\n{s['engine']} engine at {TARGET_SIZE:,} people: "
                f"{s['steps_per_s'] / 1e6:.2f} M agent-steps/s (median), {verdict} the target of "
                f"{TARGET_STEPS_PER_SECOND / 1e6:.1f} M/s"
            )
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(summaries[0]))
            writer.writeheader()
            writer.writerows(summaries)
        print(f"\nwrote {args.csv}")


if __name__ == "__main__":
    main()
