"""Side-by-side benchmark: kds-sim's engines and Starsim running the same relapse rules.

Engines (each measurement in a fresh subprocess, engines interleaved size by size):
- ensemble: kds_sim.model.ensemble.Ensemble, all replicates of a size stepped together;
- vector: KDSModel (Mesa, vector engine), one replicate after another;
- starsim_port: a Starsim 3.7 Sim whose one intervention runs the same rules written as numpy
  array operations, as a port to Starsim would (experiments/numpy_rules.py, the 0.2 rules as
  kds-sim ran them before the fused kernel), on the same cohort and network, drawing six
  uniforms per person-day from numpy as such a port would (needs the `bench` extra);
- starsim_kernel: the same Sim calling kds-sim's compiled kernel (rules.advance_people, with
  its counter-based draws), to show what Starsim itself costs around the same compiled rules;
- starsim_sis: Starsim's built-in SIS on its random network, for scale.

Rows: agent-steps/s (people x replicates x days / run wall seconds, setup excluded), the same
per CPU second of the run (the honest measure on a shared machine), the CPU seconds of setup and
run together, peak RSS of the subprocess, the load average, the threads of the compiled stages
(kds_sim.model.threads: KDS_SIM_THREADS, else the CPUs the load leaves idle), and the ratios to
the Starsim port and to Starsim calling our kernel at the same size (by CPU time).

Examples:
    python experiments/benchmark_peers.py                      # 300 x 200 and 10k
    python experiments/benchmark_peers.py --cases 300x200,10000x1,100000x1,1000000x1
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # numpy_rules beside this file

ENGINES = ("ensemble", "vector", "starsim_port", "starsim_kernel", "starsim_sis")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scenario_for(size: int, days: int):
    from kds_sim.model.scenario import Scenario

    return Scenario.model_validate(
        {"population": {"size": size}, "run": {"horizon_days": days}, "group": {"enabled": False}}
    )


def seeds(replicates: int):
    import numpy as np

    return [np.random.SeedSequence(1, spawn_key=(i,)) for i in range(replicates)]


def run_ensemble(size: int, replicates: int, days: int) -> tuple[float, float, float]:
    from kds_sim.model.ensemble import Ensemble

    start = time.perf_counter()
    model = Ensemble([scenario_for(size, days)] * replicates, seeds(replicates))
    setup = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    model.run()
    return setup, time.perf_counter() - start, time.process_time() - cpu


def run_vector(size: int, replicates: int, days: int) -> tuple[float, float, float]:
    from kds_sim.model.kds_model import KDSModel

    setup = run = cpu = 0.0
    for seed in seeds(replicates):
        start = time.perf_counter()
        model = KDSModel(scenario_for(size, days), seed)
        setup += time.perf_counter() - start
        start, begun = time.perf_counter(), time.process_time()
        model.run()
        run += time.perf_counter() - start
        cpu += time.process_time() - begun
    return setup, run, cpu


def run_starsim_port(
    size: int, replicates: int, days: int, kernel: bool = False
) -> tuple[float, float, float]:
    """Starsim drives the days; kds-sim's Cohort sets up the people, and the rules run as
    numpy array operations (a port), or as kds-sim's compiled kernel (`kernel`)."""
    import numpy as np
    import numpy_rules
    import starsim as ss

    from kds_sim.model import rules
    from kds_sim.model.cohort import Cohort
    from kds_sim.model.rules import RELAPSED

    class Relapse(ss.Intervention):
        def __init__(self, cohort: Cohort):
            super().__init__(name="kds_relapse")
            self.cohort = cohort
            self.k = rules.coefficients([cohort.behaviour])
            self.events = {name: np.zeros((1, cohort.people.size), bool) for name in rules.EVENTS}
            self.rng = np.random.default_rng(cohort.key)

        def step(self) -> None:
            c = self.cohort
            p = c.people
            contacts = c.network.using_ties + c.network.relapsed_peers(p.status == RELAPSED)
            if kernel:
                columns = (*rules.STATE, *rules.TRAITS_READ, *rules.LATE_READ)
                cols = {name: getattr(p, name)[None] for name in columns}
                rules.advance_people(
                    cols,
                    contacts[None],
                    p.idle[None],
                    p.stress_baseline[None],
                    c.key[None],
                    int(self.ti) + 1,
                    self.k,
                    self.events,
                )
                return
            u = self.rng.random((6, p.size))
            new, events = numpy_rules.advance_day(
                p.view(slice(None)), contacts, p.idle, p.stress_baseline, u, c.behaviour
            )
            p.write(slice(None), new)

    setup = run = cpu = 0.0
    for seed in seeds(replicates):
        start = time.perf_counter()
        cohort = Cohort()
        cohort.setup(scenario_for(size, days), seed)
        sim = ss.Sim(
            n_agents=size, interventions=Relapse(cohort), start=0, stop=days, dt=1, verbose=0
        )
        sim.init()
        setup += time.perf_counter() - start
        start, begun = time.perf_counter(), time.process_time()
        sim.run()
        run += time.perf_counter() - start
        cpu += time.process_time() - begun
    assert np.isfinite(cohort.people.stress).all()
    return setup, run, cpu


def run_starsim_sis(size: int, replicates: int, days: int) -> tuple[float, float, float]:
    import starsim as ss

    setup = run = cpu = 0.0
    for i in range(replicates):
        start = time.perf_counter()
        sim = ss.Sim(
            n_agents=size,
            diseases="sis",
            networks="random",
            start=0,
            stop=days,
            dt=1,
            rand_seed=i,
            verbose=0,
        )
        sim.init()
        setup += time.perf_counter() - start
        start, begun = time.perf_counter(), time.process_time()
        sim.run()
        run += time.perf_counter() - start
        cpu += time.process_time() - begun
    return setup, run, cpu


def run_starsim_kernel(size: int, replicates: int, days: int) -> tuple[float, float, float]:
    return run_starsim_port(size, replicates, days, kernel=True)


RUNNERS = {
    "ensemble": run_ensemble,
    "vector": run_vector,
    "starsim_port": run_starsim_port,
    "starsim_kernel": run_starsim_kernel,
    "starsim_sis": run_starsim_sis,
}


def worker(engine: str, size: int, replicates: int, days: int) -> dict:
    from kds_sim.model import threads

    RUNNERS[engine](10, 2, 2)  # warm up imports and first calls
    used = threads.threads()  # the compiled stages' threads (by the load when the run starts)
    start_cpu = time.process_time()
    setup, run, run_cpu = RUNNERS[engine](size, replicates, days)
    return {
        "engine": engine,
        "people": size,
        "replicates": replicates,
        "days": days,
        "setup_s": round(setup, 3),
        "run_s": round(run, 3),
        "cpu_s": round(time.process_time() - start_cpu, 3),
        "run_cpu_s": round(run_cpu, 3),
        "steps_per_s": size * replicates * days / run,
        "steps_per_cpu_s": size * replicates * days / run_cpu,
        "load_1min": round(os.getloadavg()[0], 2),
        "threads": used,
        "rss_peak_mb": round(_rss_mb(), 1),
    }


def bytes_per_step() -> int:
    """Memory traffic of one agent-step of the ensemble's day, a lower bound: the columns the
    kernel reads and writes, its inputs, the day's events and the uniforms (written by the
    generator, read by the kernel; now drawn inside it, so none)."""
    import numpy as np

    from kds_sim.model import rules
    from kds_sim.model.people import draw_people
    from kds_sim.model.scenario import Scenario

    people = draw_people(Scenario().population, 1, np.random.default_rng(0))
    size = {name: getattr(people, name).itemsize for name in (*rules.STATE, *rules.TRAITS_READ)}
    state = sum(size[name] for name in rules.STATE)
    traits = sum(size[name] for name in rules.TRAITS_READ)
    inputs, events, uniforms = 3 * 8, len(rules.EVENTS), 0
    return 2 * state + traits + inputs + events + uniforms


def copy_bandwidth() -> float:
    """Bytes per second numpy moves in a large array copy (read + write), best of five."""
    import numpy as np

    a, b = np.ones(32_000_000), np.empty(32_000_000)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        b[:] = a
        best = min(best, time.perf_counter() - start)
    return 2 * a.nbytes / best


def measure(engine: str, size: int, replicates: int, days: int) -> dict | None:
    command = [sys.executable, os.path.abspath(__file__), "--worker", engine]
    command += ["--cases", f"{size}x{replicates}", "--days", str(days)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"{engine} {size}x{replicates} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="300x200,10000x1", help="PEOPLExREPLICATES,...")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument(
        "--loop-replicates",
        type=int,
        default=20,
        help="replicates for the one-at-a-time engines (rates are per step, so comparable)",
    )
    parser.add_argument("--csv", default="experiments/results/benchmark_peers.csv")
    parser.add_argument("--worker", metavar="ENGINE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cases = [tuple(int(x) for x in c.split("x")) for c in args.cases.split(",")]
    if args.worker:
        size, replicates = cases[0]
        print(json.dumps(worker(args.worker, size, replicates, args.days)))
        return
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    rows = []
    for size, replicates in cases:
        for engine in args.engines.split(","):
            if engine.startswith("starsim") and size > 100_000:
                continue  # Starsim at 1M people is not part of the comparison
            reps = replicates if engine == "ensemble" else min(replicates, args.loop_replicates)
            row = measure(engine, size, reps, args.days)
            if row:
                rows.append(row)
                print(json.dumps(row), flush=True)
    # after the runs: a child inherits its parent's peak RSS, so no big arrays before them
    traffic, bandwidth = bytes_per_step(), copy_bandwidth()
    print(f"{traffic} bytes per agent-step; copy bandwidth {bandwidth / 1e9:.1f} GB/s")
    for row in rows:
        for other in ("starsim_port", "starsim_kernel"):
            same = [r for r in rows if r["engine"] == other and r["people"] == row["people"]]
            row[f"cpu_ratio_to_{other}"] = (
                round(row["steps_per_cpu_s"] / same[0]["steps_per_cpu_s"], 2) if same else None
            )
        ensemble = row["engine"] == "ensemble"
        row["bandwidth_share"] = (
            round(row["steps_per_s"] * traffic / bandwidth, 3) if ensemble else None
        )
    if rows:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
