"""Overhead of the sweep store and of Dask: runs/s of the bare engine in a loop vs a sweep.

    .venv/bin/python experiments/benchmark_sweep.py [--points 6] [--replicates 4]

Runs the same design (capacity building and no group at 300 people x 365 days, a grid over
group.coverage) three ways, one worker each: (1) `runner.run` in a plain loop, (2) `sweep` in
process (store + design overhead), (3) `sweep --dask-local 1` (plus Dask scheduling and
transfer). Prints wall time, runs/s, overhead against (1) and this process's peak memory.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from kds_sim.analysis import runner
from kds_sim.analysis.sweep import design, sweep
from kds_sim.io.scenario_files import load_scenario

REPO = Path(__file__).resolve().parents[1]


def experiment(folder: Path, points: int, replicates: int) -> Path:
    levels = ", ".join(f"{0.2 + 0.6 * i / max(points - 1, 1):.3f}" for i in range(points))
    path = folder / "bench.toml"
    path.write_text(
        f"""name = "bench"
strategies = ["{REPO}/scenarios/capacity_building.toml"]
reference = "{REPO}/scenarios/no_group.toml"
replicates = {replicates}
seed = 1
batch = 2
outcomes = ["relapse_365d", "averted_per_100_365d"]
[factors]
"group.coverage" = {{ levels = [{levels}] }}
""",
        encoding="utf-8",
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=6)
    parser.add_argument("--replicates", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = experiment(folder, args.points, args.replicates)
        exp = design.load_experiment(path)
        points = design.sample(exp)
        runs = design.run_count(exp, len(points))
        start = time.perf_counter()
        for p in range(len(points)):
            changes = design.point_overrides(exp, points, p, load_scenario(exp.strategy_paths()[0]))
            for strategy in exp.all_paths().values():
                runner.run(
                    load_scenario(strategy, changes),
                    replicates=exp.replicates,
                    seed=1,
                    progress=False,
                )
        bare = time.perf_counter() - start
        rows = [("bare loop (runner.run)", bare)]
        for label, local in (("sweep, in process", None), ("sweep, --dask-local 1", 1)):
            start = time.perf_counter()
            sweep(path, out=folder / label.replace(" ", "_"), progress=False, dask_local=local)
            rows.append((label, time.perf_counter() - start))
        print(f"{runs} replicate runs ({len(points)} points x 2 strategies x {exp.replicates})")
        for label, seconds in rows:
            print(
                f"{label:28s} {seconds:7.2f} s  {runs / seconds:6.1f} runs/s  "
                f"overhead {100 * (seconds / bare - 1):+5.1f} %"
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
