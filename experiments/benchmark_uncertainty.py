"""How the uncertainty comparison and the ABC calibration scale with workers.

    python experiments/benchmark_uncertainty.py                     # both parts, ~25 min
    python experiments/benchmark_uncertainty.py --part uncertainty  # ~8 min

Part "uncertainty": the shipped comparison's four strategies at D posterior draws x R
replicates (default 24 x 10 x 4 = 960 runs), run by 1 local worker, 2 local workers, a local
Dask cluster of 1 and one of 2. The values are identical in every case (tested in
tests/test_uncertainty.py); only the wall time differs.

Part "abc": ABC-SMC against scenarios/targets/indonesia_2015.toml with the shipped settings
(100 particles, 4 replicates per particle) but 3 generations instead of 5, on pyabc's
single-core sampler, its 2-process sampler and a local Dask cluster of 2. Parallel samplers
draw a different (equally valid) particle sequence, so the number of simulations differs a
little; simulations per second is the comparable rate.

Writes experiments/results/benchmark_uncertainty/{uncertainty,abc}_scaling.csv and prints them.
Run it on an otherwise idle machine: the numbers are wall times.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "experiments" / "results" / "benchmark_uncertainty"
STRATEGIES = ("no_group", "group_as_assessed", "capacity_building", "capacity_building_mentoring")
EXECUTORS = (("local", 1), ("local", 2), ("dask-local", 1), ("dask-local", 2))
ABC_EXECUTORS = (("single-core", 1), ("local", 2), ("dask-local", 2))


def uncertainty_part(draws: int, replicates: int) -> pd.DataFrame:
    from kds_sim.analysis.uncertainty import run_uncertainty
    from kds_sim.io.scenario_files import load_scenario

    scenarios = [load_scenario(ROOT / "scenarios" / f"{name}.toml") for name in STRATEGIES]
    rows = []
    baseline = None
    for kind, n in EXECUTORS:
        started = time.perf_counter()
        result = run_uncertainty(
            scenarios,
            reference="no_group",
            source="posterior",
            draws=draws,
            replicates=replicates,
            workers=n if kind == "local" else 1,
            dask_local=n if kind == "dask-local" else None,
            progress=False,
        )
        wall = time.perf_counter() - started
        runs = draws * replicates * len(scenarios)
        baseline = baseline or wall
        mean = result.summary().query("metric == 'averted_per_100_365d'")["mean"].round(6)
        rows.append(
            {
                "executor": kind,
                "workers": n,
                "draws": draws,
                "replicates": replicates,
                "runs": runs,
                "seconds": round(wall, 1),
                "runs_per_second": round(runs / wall, 2),
                "speedup_vs_1_local": round(baseline / wall, 2),
                "averted_means": " ".join(f"{v:g}" for v in mean),
            }
        )
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def abc_part(generations: int) -> pd.DataFrame:
    from kds_sim.analysis import abc
    from kds_sim.analysis.calibration import load_targets

    targets = load_targets(ROOT / "scenarios" / "targets" / "indonesia_2015.toml")
    priors = abc.select_priors(targets)
    base = abc.AbcSettings(population=100, generations=generations, replicates=4, seed=1)
    rows = []
    baseline = None
    for kind, n in ABC_EXECUTORS:
        settings = dataclasses.replace(
            base,
            workers=n if kind == "local" else 1,
            dask_local=n if kind == "dask-local" else None,
        )
        with tempfile.TemporaryDirectory() as tmp:
            db = abc.working_db(Path(tmp), "bench")
            started = time.perf_counter()
            result = abc.calibrate_abc(targets, priors, settings, db, progress=False)
            wall = time.perf_counter() - started
        rate = result.simulations / wall
        baseline = baseline or rate
        rows.append(
            {
                "sampler": settings.sampler,
                "workers": n,
                "particles": base.population,
                "generations": len(result.generations),
                "simulations": result.simulations,
                "seconds": round(wall, 1),
                "simulations_per_second": round(rate, 2),
                "speedup_vs_single_core": round(rate / baseline, 2),
                "final_epsilon": round(result.epsilon, 3),
            }
        )
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("uncertainty", "abc", "both"), default="both")
    parser.add_argument("--draws", type=int, default=24)
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    logging.getLogger("ABC").setLevel(logging.WARNING)
    machine = f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    from kds_sim.io import storage

    if args.part in ("uncertainty", "both"):
        table = uncertainty_part(args.draws, args.replicates)
        storage.write_text(args.out / "uncertainty_scaling.csv", table.to_csv(index=False))
        print(machine)
        print(table.drop(columns="averted_means").to_string(index=False))
    if args.part in ("abc", "both"):
        table = abc_part(args.generations)
        storage.write_text(args.out / "abc_scaling.csv", table.to_csv(index=False))
        print(machine)
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
