"""Benchmark of the evaluation core: the shipped uncertainty comparison on every backend.

The uncertainty part of experiments/compare_uncertainty.py (4 strategies x D posterior draws x
R replicates, 300 people x 365 days) through `run_uncertainty`, in-process, on a local pool
and on a Dask LocalCluster; the per-draw values must be identical on all. With --profile, the
in-process run is repeated with the engine's entry point timed: the share of CPU time inside
the engine (kds_sim.model).
Wall and CPU times, agent-steps per second and the load average go to
experiments/results/benchmark_evaluation.json.

    python experiments/benchmark_evaluation.py                       # D = 200, R = 10
    python experiments/benchmark_evaluation.py --backends pool dask --profile  # as committed
    python experiments/benchmark_evaluation.py --backends --abc-particles 60 --sobol-points 48
    python experiments/benchmark_evaluation.py --backends --compare  # kds-sim compare, timed

`--abc-particles N` times ABC's particle model at the shipped settings and extrapolates the
shipped ABC-SMC run; `--sobol-points N` runs a fraction of the Sobol study and extrapolates
the whole (both stated as extrapolations).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kds_sim.analysis.backend import Backend
from kds_sim.analysis.uncertainty import run_uncertainty
from kds_sim.io.scenario_files import load_scenario

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = ("no_group", "group_as_assessed", "capacity_building", "capacity_building_mentoring")
OUT = ROOT / "experiments" / "results" / "benchmark_evaluation.json"


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def run(backend: Backend, draws: int, replicates: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    scenarios = [load_scenario(ROOT / "scenarios" / f"{n}.toml") for n in STRATEGIES]
    options: dict[str, Any] = {"reference": "no_group", "source": "posterior"}
    load_before = _load()
    cpu, wall = _cpu(), time.perf_counter()
    result = run_uncertainty(scenarios, draws=draws, replicates=replicates,
                             progress=False, backend=backend, **options)  # fmt: skip
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    steps = draws * replicates * len(STRATEGIES) * 300 * 365
    return result.values, {
        "backend": backend.describe(),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "agent_steps_per_cpu_second": round(steps / cpu),
        "load_average_before": load_before,
        "load_average_after": _load(),
    }


def engine_share(draws: int, replicates: int) -> dict[str, Any]:
    """Share of the in-process run's CPU time spent inside the engine: CPU time (this process)
    inside kds_sim.model.ensemble.simulate_columns, the engine's one entry point (cohort
    set-up, the daily steps, the output arrays), over the CPU time of the whole
    run_uncertainty. No profiler: cProfile inflates Python-level code and misattributes
    threads, so the engine call is timed directly (`cprofile` gives the breakdown)."""
    from kds_sim.analysis import columns

    engine = 0.0
    original = columns.ensemble.simulate_columns

    def timed(*args: Any, **kwargs: Any) -> Any:
        nonlocal engine
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            engine += time.process_time() - started

    columns.ensemble.simulate_columns = timed  # type: ignore[assignment]
    try:
        load = _load()
        total = time.process_time()
        run(Backend(), draws, replicates)
        total = time.process_time() - total
    finally:
        columns.ensemble.simulate_columns = original
    steps = draws * replicates * len(STRATEGIES) * 300 * 365
    return {
        "draws": draws,
        "replicates": replicates,
        "cpu_seconds": round(total, 2),
        "engine_cpu_seconds": round(engine, 2),
        "engine_share": round(engine / total, 4),
        "agent_steps_per_cpu_second": round(steps / total),
        "load_average": load,
        "meaning": "CPU time inside kds_sim.model.ensemble.simulate_columns (the engine: "
        "cohort set-up, daily steps, output arrays) over all CPU time of run_uncertainty "
        "(planning, evaluation, metrics, summaries), in-process",
    }


def cprofile(draws: int, replicates: int) -> dict[str, Any]:
    """The same in-process run under cProfile: cumulative time of the engine's entry point
    and of the evaluator's other parts, and the functions outside the engine that cost most
    (cProfile's own overhead inflates the Python-level parts)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    run(Backend(), draws, replicates)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in stats.values())

    def cumulative(file_end: str, function: str) -> float:
        return sum(
            ct for (f, _, name), (_, _, _, ct, _) in stats.items()
            if f.endswith(file_end) and name == function
        )  # fmt: skip

    engine = cumulative("model/ensemble.py", "simulate_columns")
    outside = [
        (f"{Path(f).name}:{name}", tt)
        for (f, _, name), (_, _, tt, _, _) in stats.items()
        if "kds_sim/model" not in f
    ]
    outside.sort(key=lambda x: -x[1])
    return {
        "draws": draws,
        "replicates": replicates,
        "profiled_seconds": round(total, 2),
        "engine_seconds": round(engine, 2),
        "engine_share": round(engine / total, 4),
        "parts_seconds": {
            "evaluation.run_task": round(cumulative("analysis/evaluation.py", "run_task"), 2),
            "evaluation.summarise": round(cumulative("analysis/evaluation.py", "summarise"), 2),
            "store / planning / other": round(
                total
                - cumulative("analysis/evaluation.py", "run_task")
                - cumulative("analysis/evaluation.py", "summarise"),
                2,
            ),
        },  # fmt: skip
        "top_own_time_outside_kds_sim_model": {k: round(v, 3) for k, v in outside[:12]},
        "meaning": "cProfile of run_uncertainty in-process; engine = cumulative time of "
        "kds_sim.model.ensemble.simulate_columns (numpy/scipy/numba calls made by the engine "
        "count as engine); own time outside kds_sim/model includes numpy called by the engine",
    }


def abc_part(particles: int) -> dict[str, Any]:
    """Particle evaluations of `abc.ParticleModel` per CPU second at the shipped settings (4
    replicates per particle, prior draws, one process), and the shipped ABC-SMC run
    (3,188 simulations in 894 s at 60536d9) extrapolated from that rate."""
    from kds_sim.analysis import abc
    from kds_sim.analysis.calibration import load_targets

    targets = load_targets(ROOT / "scenarios" / "targets" / "indonesia_2015.toml")
    priors = abc.select_priors(targets)
    model = abc.ParticleModel(abc.fit_targets(targets), priors, 4, None, 1)
    rng = np.random.default_rng(0)
    draws = [{abc.safe_name(k): float(rng.normal()) for k in priors} for _ in range(particles)]
    model(draws[0])  # warm up: numba compilation, file reading
    load, cpu, wall = _load(), time.process_time(), time.perf_counter()
    for p in draws:
        model(p)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    rate = particles / cpu
    return {
        "particles": particles,
        "cpu_seconds": round(cpu, 2),
        "wall_seconds": round(wall, 2),
        "particles_per_cpu_second": round(rate, 2),
        "shipped_run_extrapolated_minutes_one_core": round(3188 / rate / 60, 2),
        "shipped_run_at_60536d9_minutes": round(894.2 / 60, 2),
        "load_average": load,
        "note": "extrapolated: 3,188 simulations of the shipped run / particles per CPU second",
    }


def sobol_part(points: int, cores: int) -> dict[str, Any]:
    """The first `points` points of experiments/designs/sobol_relapse.toml through the
    evaluation core, as `kds-sim sweep` runs them (in-process, CPU time), and the whole study
    (92,160 runs) extrapolated on `cores` cores from that fraction."""
    import warnings

    from kds_sim.analysis import evaluation
    from kds_sim.analysis.sweep import _columns, _plan, design, load_experiment

    exp = load_experiment(ROOT / "experiments" / "designs" / "sobol_relapse.toml")
    base = load_scenario(exp.strategy_paths()[0], exp.set)
    table = design.sample(exp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = _plan(exp, table, _columns(exp, base.run.horizon_days))
    evaluation.evaluate(plan, points=[0], progress=False)  # warm up (numba, imports)
    load, cpu, wall = _load(), time.process_time(), time.perf_counter()
    done = evaluation.evaluate(plan, points=range(1, points + 1), progress=False)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    total = design.run_count(exp, len(table))
    return {
        "runs_measured": done.computed,
        "cpu_seconds": round(cpu, 2),
        "wall_seconds": round(wall, 2),
        "runs_in_study": total,
        "cores": cores,
        "extrapolated_minutes": round(total * cpu / done.computed / cores / 60, 1),
        "load_average": load,
        "note": "extrapolated from a fraction of the design: CPU seconds per run x runs / cores",
    }


def compare_part(workers: int) -> dict[str, Any]:
    """`kds-sim compare` of the four headline scenarios (README quick start: 200 replicates of
    300 people x 365 days each, on the evaluation core), as a user runs it: wall and CPU time
    of the whole command (start-up, simulation, figures, report), with and without its store."""
    import subprocess
    import sys
    import tempfile

    cli = str(Path(sys.executable).parent / "kds-sim")
    paths = [str(ROOT / "scenarios" / f"{n}.toml") for n in STRATEGIES]
    found: dict[str, Any] = {"command": f"kds-sim compare {' '.join(STRATEGIES)} --workers "
                             f"{workers}", "cpus": os.cpu_count()}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for label, extra in (("no_resume", ["--no-resume"]), ("with_store", [])):
            out = Path(tmp) / label
            load, cpu, wall = _load(), _cpu(), time.perf_counter()
            subprocess.run(
                [cli, "compare", *paths, "--workers", str(workers), "--out", str(out),
                 "--no-progress", *extra],
                check=True, capture_output=True,
            )  # fmt: skip
            found[label] = {
                "wall_seconds": round(time.perf_counter() - wall, 2),
                "cpu_seconds": round(_cpu() - cpu, 2),
                "load_average_before": load,
                "load_average_after": _load(),
            }
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--backends", nargs="*", default=["inprocess", "pool", "dask"], help="none: skip"
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--profile-draws",
        type=int,
        default=40,
        help="draws of the profile (a quarter under cProfile)",
    )
    parser.add_argument("--abc-particles", type=int, default=0, help="also time ABC particles")
    parser.add_argument("--sobol-points", type=int, default=0, help="also a Sobol fraction")
    parser.add_argument("--compare", action="store_true", help="also time `kds-sim compare`")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    backends = {
        "inprocess": Backend(),
        "pool": Backend(workers=args.workers),
        "dask": Backend(dask_local=args.workers),
    }
    found: dict[str, Any] = {
        "what": "none"
        if not args.backends
        else f"run_uncertainty: {len(STRATEGIES)} strategies x {args.draws} posterior draws "
        f"x {args.replicates} replicates, 300 people x 365 days",
        "cpus": os.cpu_count(),
        "runs": {},
    }
    first = None
    for name in args.backends:
        values, timing = run(backends[name], args.draws, args.replicates)
        print(name, timing, flush=True)
        found["runs"][name] = timing
        if first is None:
            first = values
        else:
            pd.testing.assert_frame_equal(first, values, check_exact=True)
            timing["identical_to_first"] = True
    if args.profile:
        found["profile"] = engine_share(args.profile_draws, args.replicates)
        print("profile", found["profile"], flush=True)
        found["cprofile"] = cprofile(max(2, args.profile_draws // 4), args.replicates)
        print("cprofile", found["cprofile"], flush=True)
    if args.abc_particles:
        found["abc"] = abc_part(args.abc_particles)
        print("abc", found["abc"], flush=True)
    if args.sobol_points:
        found["sobol"] = sobol_part(args.sobol_points, args.workers)
        print("sobol", found["sobol"], flush=True)
    if args.compare:
        found["compare"] = compare_part(args.workers)
        print("compare", found["compare"], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(found, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
