"""Benchmark of the Sobol study (experiments/designs/sobol_relapse.toml) from a fraction of it.

The full design is 4,608 points x 2 strategies x 10 replicates = 92,160 runs (300 people x
365 days). This script evaluates its first `--points` points through the evaluation core, as
`kds-sim sweep` does (in-process, CPU time), and extrapolates the whole study on `--cores`
cores: an extrapolation from a fraction, stated as such (runs cost the same at every point
to within the spread of the parameters).

    python experiments/benchmark_sobol_fraction.py --points 48
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

from kds_sim.analysis import evaluation
from kds_sim.analysis.sweep import _columns, _plan, design, load_experiment
from kds_sim.io.scenario_files import load_scenario

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "experiments" / "designs" / "sobol_relapse.toml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=48)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    exp = load_experiment(DESIGN)
    base = load_scenario(exp.strategy_paths()[0], exp.set)
    points = design.sample(exp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = _plan(exp, points, _columns(exp, base.run.horizon_days))
    evaluation.evaluate(plan, points=[0], progress=False)  # warm up (numba, imports)
    load = Path("/proc/loadavg").read_text().split()[:3]
    cpu, wall = time.process_time(), time.perf_counter()
    done = evaluation.evaluate(plan, points=range(1, args.points + 1), progress=False)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    total = design.run_count(exp, len(points))
    per_run = cpu / done.computed
    found = {
        "runs_measured": done.computed,
        "cpu_seconds": round(cpu, 2),
        "wall_seconds": round(wall, 2),
        "runs_in_study": total,
        "extrapolated_minutes_on_cores": round(total * per_run / args.cores / 60, 1),
        "cores": args.cores,
        "load_average": load,
        "note": "extrapolated from a fraction of the design: CPU seconds per run x runs / cores",
    }
    print(json.dumps(found, indent=2))
    if args.out:
        args.out.write_text(json.dumps(found, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
